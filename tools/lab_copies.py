"""Refresh the analyst's working copies of the notebooks (``make lab``), never their edits silently.

    python tools/lab_copies.py [LAB_DIR]      # default lab/ (git-ignored)

JupyterLab autosaves outputs into the notebooks it opens, so ``make lab`` opens copies in a
git-ignored folder, never the committed ``notebooks/``. For each notebook:

- no copy yet: it is copied;
- the committed notebook has not changed since it was last copied: the copy is left alone,
  whatever the analyst did with it;
- the committed notebook changed (a ``git pull``): the copy is replaced by the new one; if the
  analyst had changed the copy, it is first kept as ``NAME.<date-time>.ipynb`` beside it, and
  the line printed says so.

``LAB_DIR/.committed/`` holds the notebook as last copied, to tell the two changes apart.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def refresh(lab: Path, notebooks: Path = NOTEBOOKS, now: dt.datetime | None = None) -> list[str]:
    """Bring the copies in ``lab`` up to date with ``notebooks``; one line per thing done."""
    base = lab / ".committed"
    base.mkdir(parents=True, exist_ok=True)
    stamp = f"{now or dt.datetime.now():%Y%m%d-%H%M%S}"
    said = []
    for source in sorted(notebooks.glob("*.ipynb")):
        copy, last = lab / source.name, base / source.name
        if not copy.exists():
            shutil.copyfile(source, copy)
            said.append(f"{copy}: copied from {source}")
        elif last.exists() and filecmp.cmp(source, last, shallow=False):
            continue  # nothing new upstream: the analyst's copy stays as it is
        elif filecmp.cmp(copy, source, shallow=False):
            pass  # already the committed one
        elif last.exists() and filecmp.cmp(copy, last, shallow=False):
            shutil.copyfile(source, copy)
            said.append(f"{copy}: updated from {source} (it had not been changed)")
        else:
            kept = copy.with_name(f"{copy.stem}.{stamp}{copy.suffix}")
            copy.rename(kept)
            shutil.copyfile(source, copy)
            said.append(f"{copy}: {source} changed; replaced by it, your version kept as {kept}")
        shutil.copyfile(source, last)
    return said


def main(argv: list[str]) -> int:
    lab = Path(argv[0]) if argv else ROOT / "lab"
    for line in refresh(lab):
        print(f"lab: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
