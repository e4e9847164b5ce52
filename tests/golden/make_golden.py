"""Write the golden outputs of the programme rules that tests/rules/test_checks_golden.py compares with.

    python tests/golden/make_golden.py        # rewrites tests/golden/*.json.gz

How they were made: first (issue 20) from ``tests/rules_before.py``, the row-by-row rules of
commit 81562e8 kept as an oracle, after checking that the package's Arrow implementation gave the
very same bytes on every case; the oracle copy was then removed. Since then they are rewritten
by this script from the package itself, only when a change of a message or an outcome is
intended: review the diff of the decompressed files (``zcat``) before committing them.

Cases: synthetic trackers (``synth``, 1,500 rows, seed 9, both shapes) with and without the
bundled register; the bundled D5.1 tracker with the register; the awkward table of
tests/rules/test_checks_scale.py (quotes, backslashes, accents, legal forms) with its register,
without one, and empty: each ``NAME.json.gz`` holds ``check --json``'s output. ``matches.json``:
the register's matches, locations and fills of test_checks_scale's match case; ``cities.json``: the
GeoNames place of each of its (city, country) pairs.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "rules"))
sys.path.insert(0, str(HERE.parent))


def cases():
    """(name, table, register) for every golden case."""
    from test_checks_scale import awkward_register, awkward_table

    from cxc_analysis.core.config import DEFAULT_INPUT, DEFAULT_REGISTER
    from cxc_analysis.read.tracker import read_tracker
    from cxc_analysis.reference.register import read_register
    from cxc_analysis.synth import write_synth
    from cxc_analysis.table.clean import clean

    register = read_register(DEFAULT_REGISTER)
    with tempfile.TemporaryDirectory() as tmp:
        for shape in ("realistic", "low-cardinality"):
            path = Path(tmp) / f"{shape}.csv"
            write_synth(path, 1500, seed=9, duplicates=5, shape=shape)
            table = clean(read_tracker(path)).table
            yield f"synth-{shape}-register", table, register
            yield f"synth-{shape}", table, None
    yield "d51-register", clean(read_tracker(DEFAULT_INPUT)).table, register
    yield "awkward-register", awkward_table(), awkward_register()
    yield "awkward", awkward_table(), None
    yield "awkward-empty", awkward_table().iloc[:0], awkward_register()


def check_json(table, register) -> str:
    from cxc_analysis.rules.checks import evaluate_rules
    from cxc_analysis.rules.output import write_results_json

    out = io.StringIO()
    write_results_json(evaluate_rules(table, register), out)
    return out.getvalue()


def main() -> None:
    from test_checks_scale import match_case, matches, resolved

    (HERE / "matches.json").write_text(json.dumps(matches(*match_case()), ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")
    (HERE / "cities.json").write_text(json.dumps(resolved(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("matches.json, cities.json: the register's matches and the GeoNames places of the match case")
    for name, table, register in cases():
        path = HERE / f"{name}.json.gz"
        data = check_json(table, register).encode("utf-8")
        with gzip.GzipFile(path, "wb", mtime=0) as handle:  # mtime 0: the same bytes every time
            handle.write(data)
        print(f"{path.name}: {len(json.loads(data))} results")


if __name__ == "__main__":
    main()
