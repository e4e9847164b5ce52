"""Build hook: the wheel carries the repository's notebooks/ and data/raw/ inside the package.

They stay a single copy in git (what analysts open and the README shows); building a wheel
copies them to ``cxc_analysis/_bundled/`` where ``cxc_analysis.core.config`` finds them with
importlib.resources. MANIFEST.in puts them in the sdist, so a wheel built from the sdist has
them too. Everything else is declared in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE, BUNDLE = "cxc_analysis", "_bundled"  # as in src/cxc_analysis/config.py
BUNDLED = {"data/raw": "**/*", "notebooks": "*.ipynb"}  # folder -> files of it the package carries


def bundled_files(root: Path = HERE) -> dict[str, Path]:
    """Every file to bundle, by its path inside the bundle (hidden files and folders left out)."""
    found = {}
    for folder, pattern in BUNDLED.items():
        files = [p for p in (root / folder).glob(pattern)
                 if p.is_file() and not any(part.startswith((".", "__pycache__")) for part in p.relative_to(root).parts)]
        if not files:
            raise SystemExit(f"setup.py: nothing to bundle in {root / folder}: the wheel would not work")
        found.update({p.relative_to(root).as_posix(): p for p in files})
    return found


class BuildWithProjectFiles(build_py):
    """build_py plus the copy of notebooks/ and data/raw/ (not for editable installs, which
    read the repository's folders directly)."""

    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            for name, source in sorted(bundled_files().items()):
                target = Path(self.build_lib, PACKAGE, BUNDLE, name)
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        extra = [] if getattr(self, "editable_mode", False) else \
            [str(Path(self.build_lib, PACKAGE, BUNDLE, name)) for name in bundled_files()]
        return super().get_outputs(include_bytecode) + extra


setup(cmdclass={"build_py": BuildWithProjectFiles})
