"""Digest of what the commands write, to prove a refactor changed no output.

    python tools/output_digest.py > before.json      # on the commit before the change
    python tools/output_digest.py > after.json       # on the commit after it
    diff before.json after.json                       # empty: every output byte-identical

It runs `kpis --json`, `check --json` and `clean` (exchanges.csv, findings.csv) on the bundled D5.1
tracker, on every tracker of the test corpus (tests/corpus/make_corpus.py) and on two synthetic
trackers, and prints the SHA-256 of each output (and of stderr, where the findings' summary is).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cxc_analysis", *args], capture_output=True, cwd=cwd, timeout=600)


def corpus(folder: Path) -> list[tuple[str, list[str]]]:
    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "tests" / "corpus" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    golden = module.build(folder)
    trackers = []
    for name, entry in sorted(golden.items()):
        if not isinstance(entry, dict):
            continue
        options = ["--columns", str(folder / entry["columns"])] if entry.get("columns") else []
        trackers.append((name, [str(folder / name), *options]))
    return trackers


def main() -> None:
    out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "corpus").mkdir()
        trackers = [("bundled", [str(ROOT / "data" / "raw" / "remobilise_d51_exchanges.xlsx")])]
        trackers += corpus(tmp / "corpus")
        for suffix in ("csv", "xlsx"):
            path = tmp / f"synth.{suffix}"
            run("synth", "--rows", "2000", "--seed", "3", "--duplicates", "20", "--out", str(path), cwd=tmp)
            trackers.append((f"synth.{suffix}", [str(path)]))
        for name, args in trackers:
            entry = out[name] = {}
            for command in (["kpis", "--json"], ["check", "--json"]):
                proc = run(command[0], *args, *command[1:], cwd=tmp)
                entry[" ".join(command)] = f"{proc.returncode} {digest(proc.stdout)} {digest(proc.stderr)}"
            folder = tmp / "clean" / name
            proc = run("clean", *args, "--out", str(folder), cwd=tmp)
            said = proc.stderr.replace(str(tmp).encode(), b"TMP")  # its output folder, new each run
            entry["clean"] = f"{proc.returncode} {digest(said)}"
            for file in ("exchanges.csv", "findings.csv"):
                path = folder / file
                entry[file] = digest(path.read_bytes()) if path.exists() else "missing"
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
