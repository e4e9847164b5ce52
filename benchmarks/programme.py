"""Benchmark of the programme command (issue 21): a generation of partnerships read, checked and
matched by `cxc-analysis programme RUNS.yaml --json`, at a real generation's size (15
partnerships x 200 exchanges) and at scale (100 x 10,000 by default; `--sizes 15x200,30x1000`).

    python benchmarks/programme.py                      # 15x200 and 100x10000
    python benchmarks/programme.py --sizes 15x200       # a quick try

Each size: the generation is written by `synth`'s generation writer (shared exchanges and repeat
visitors planted, 1 % and 0.5 % of the rows), then `programme --json` runs as its own process;
the figures are compared with the generator's truth. Wall time, seconds per 1,000 rows and peak
memory (with `check` on one tracker of the same total rows for the memory ceiling) are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import run  # noqa: E402  (the one process runner of the benchmarks: wall time and peak memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="15x200,100x10000", help="partnerships x rows, comma-separated")
    options = parser.parse_args()
    python = sys.executable
    print(f"{'generation':<12} {'rows':>9} {'seconds':>8} {'s/1k rows':>9} {'peak MB':>8}  figures")
    for size in options.sizes.split(","):
        partnerships, rows = (int(n) for n in size.lower().split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            shared, repeats = max(1, partnerships * rows // 100), max(1, partnerships * rows // 200)
            code = (f"from cxc_analysis.synth import write_generation; "
                    f"write_generation({str(folder)!r}, {partnerships}, {rows}, seed=1, shared={shared}, "
                    f"repeats={repeats})")
            run([python, "-c", code])
            wall, peak, out, exit_code = run([python, "-m", "cxc_analysis", "programme", str(folder / "runs.yaml"),
                                              "--json"])
            truth = json.loads((folder / "truth.json").read_text())
            result = json.loads(out) if exit_code == 0 else {}
            same = (result.get("programme") == truth["programme"]
                    and len(result.get("shared_exchanges", [])) == len(truth["shared"])
                    and len(result.get("repeat_visitors", [])) == len(truth["repeat_visitors"]))
            total = partnerships * rows + shared + repeats
            print(f"{size:<12} {total:>9,} {wall:>8.1f} {1000 * wall / total:>9.3f} {peak:>8.0f}  "
                  f"{'equal to the truth' if same else 'DIFFERENT from the truth'}")


if __name__ == "__main__":
    main()
