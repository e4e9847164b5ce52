"""The processed data folder: exchanges and findings as written by ``clean``, read back typed."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .clean import CleanResult, clean
from .config import DATA_PROCESSED, DEFAULT_INPUT
from .errors import InputError
from .load import read_tracker
from .output import check_writable, sha256, write_atomic, write_csv, write_parquet
from .schema import require_valid


def write_processed(result: CleanResult, folder: str | Path, source: str | Path | None = None) -> Path:
    """exchanges.parquet, exchanges.csv, findings.parquet, findings.csv in ``folder``, each
    atomically, and source.json naming the tracker they came from (with its SHA-256)."""
    folder = check_writable(folder)
    write_parquet(result.table, folder / "exchanges.parquet")
    write_csv(result.table, folder / "exchanges.csv")
    write_parquet(result.findings, folder / "findings.parquet")
    write_csv(result.findings, folder / "findings.csv")
    if source is not None:
        facts = {"file": Path(source).name, "sha256": sha256(Path(source)), "exchanges": len(result.table)}
        write_atomic(folder / "source.json", lambda tmp: tmp.write_text(json.dumps(facts), encoding="utf-8"))
    return folder


def clean_to_processed(input_path: str | Path | None = None, sheet: str | None = None,
                       folder: str | Path | None = None) -> CleanResult:
    """Read and clean a tracker (default: the bundled workbook) and write the processed folder."""
    source = input_path or DEFAULT_INPUT
    result = clean(read_tracker(source, sheet=sheet or None))
    write_processed(result, folder or DATA_PROCESSED, source)
    return result


def read_source(folder: str | Path | None = None) -> dict:
    """What source.json says of the tracker behind a processed folder ({} if it says nothing)."""
    path = Path(folder or DATA_PROCESSED) / "source.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_rules(results: pd.DataFrame, folder: str | Path | None = None) -> pd.DataFrame:
    """Keep the programme-rule results beside the table (rules.parquet), for the workbook export;
    returns them unchanged, so a notebook can chain it."""
    write_parquet(results, check_writable(folder or DATA_PROCESSED) / "rules.parquet")
    return results


def read_rules(folder: str | Path | None = None) -> pd.DataFrame | None:
    """The rule results kept by ``write_rules``, or None."""
    path = Path(folder or DATA_PROCESSED) / "rules.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def require_exchanges(table: pd.DataFrame) -> pd.DataFrame:
    """The table, or InputError when it has no exchange at all: a report of nothing is no deliverable."""
    if table.empty:
        raise InputError("no exchanges to report: the tracker has a header row but no exchange below it")
    return table


def read_processed(folder: str | Path | None = None) -> CleanResult:
    """The cleaned table and findings from a processed folder; if it holds none yet, clean the
    bundled workbook into it first (so a notebook opened on a fresh clone just runs). The table is
    checked against the declaration (``schema.validate``): InputError naming the column and rows
    of anything that does not match (a wrong dtype, an ID off the pattern that no finding flags)."""
    folder = Path(folder or DATA_PROCESSED)
    if not (folder / "exchanges.parquet").is_file():
        return clean_to_processed(DEFAULT_INPUT, None, folder)
    if not (folder / "findings.parquet").is_file():
        raise InputError("processed folder without findings.parquet: run `cxc-analysis clean` again", file=folder)
    table = pd.read_parquet(folder / "exchanges.parquet")
    findings = pd.read_parquet(folder / "findings.parquet")
    return CleanResult(require_valid(table, findings, file=folder / "exchanges.parquet"), findings)
