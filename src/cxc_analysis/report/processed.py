"""The processed data folder: exchanges and findings as written by ``clean``, read back typed."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd

from cxc_analysis.core.config import DATA_PROCESSED, DEFAULT_INPUT, DEFAULT_PARTNERSHIP, DEFAULT_PERIOD
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.output import atomic_folder, check_writable, sha256, write_atomic, write_csv, write_parquet
from cxc_analysis.core.schema import require_valid
from cxc_analysis.core.yamlfile import shown
from cxc_analysis.read.header import read_column_map
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.read.vocabulary import load_vocabulary
from cxc_analysis.reference.targets import read_targets, targets_for
from cxc_analysis.report.settings import Settings
from cxc_analysis.table.clean import CleanResult, clean

PROCESSED_FILES = ("exchanges.parquet", "exchanges.csv", "findings.parquet", "findings.csv", "source.json")
STALE_FILES = ("rules.parquet", "tracker_annotated.xlsx")  # of the data a new clean replaces


def write_processed(result: CleanResult, folder: str | Path, source: str | Path | None = None,
                    facts: dict | None = None, extra: dict | None = None) -> Path:
    """exchanges.parquet, exchanges.csv, findings.parquet, findings.csv and source.json in
    ``folder``, all written in a temporary folder first and put in place together (source.json
    last), so source.json never names another tracker than the files beside it. source.json
    names the tracker (with its SHA-256) and whose data it is (``facts``: partnership, period,
    targets, as ``Settings.source_facts`` gives them; unknown ones are null). ``extra`` maps more
    file names to writers ``writer(path)`` (e.g. the annotated tracker), put in place with them."""
    folder = check_writable(folder)
    stale = STALE_FILES + (("source.json",) if source is None else ())
    with atomic_folder(folder, last=("source.json",), stale=stale) as tmp:
        write_parquet(_portable(result.table), tmp / "exchanges.parquet")
        write_csv(result.table, tmp / "exchanges.csv")
        write_parquet(_portable(result.findings), tmp / "findings.parquet")
        write_csv(result.findings, tmp / "findings.csv")
        if source is not None:
            record = {"file": Path(source).name, "sha256": sha256(Path(source)), "exchanges": len(result.table),
                      "partnership": None, "period": None, "targets": None, **(facts or {})}
            (tmp / "source.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        for name, writer in (extra or {}).items():
            writer(tmp / name)
    return folder


def _portable(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a parquet file keeps it: its tracker (``attrs["file"]``, kept in the file's
    metadata) by file name, never by the absolute local path it was read from."""
    if not frame.attrs.get("file"):
        return frame
    out = frame.copy(deep=False)
    out.attrs = {**frame.attrs, "file": Path(str(frame.attrs["file"])).name}
    return out


ANNOTATE_MAX_ROWS = 20_000  # the annotated tracker is a styled workbook: beyond this, `clean --annotate`


def read_and_clean(input_path: str | Path | None = None, sheet: str | None = None,
                   columns_path: str | Path | None = None, vocabulary_path: str | Path | None = None,
                   fields: tuple[str, ...] | None = None) -> CleanResult:
    """Read a tracker (default: the bundled workbook) with an optional column map and vocabulary
    file, and clean it with the same vocabulary. ``fields``: read only these fields' values (see
    ``read.tracker.read_tracker``), e.g. ``kpis.KPI_FIELDS`` for the KPI counts alone."""

    words = load_vocabulary(str(vocabulary_path) if vocabulary_path else None)
    columns = read_column_map(columns_path) if columns_path else None
    return clean(read_tracker(input_path or DEFAULT_INPUT, sheet=sheet or None, columns=columns, vocabulary=words,
                              fields=fields), words)


def clean_to_processed(input_path: str | Path | None = None, sheet: str | None = None,
                       folder: str | Path | None = None, facts: dict | None = None,
                       columns_path: str | Path | None = None, vocabulary_path: str | Path | None = None,
                       annotate: bool = False) -> CleanResult:
    """Read and clean a tracker (default: the bundled workbook) and write the processed folder,
    with ``tracker_annotated.xlsx`` if ``annotate`` (trackers of up to ANNOTATE_MAX_ROWS rows).
    The bundled workbook is recorded as REMOBILISE's; another tracker's partnership only as
    ``facts`` give it."""

    source = input_path or DEFAULT_INPUT
    result = read_and_clean(source, sheet, columns_path, vocabulary_path)
    if facts is None:
        facts = Settings({"input": str(source)}).source_facts()
    extra = {}
    if annotate and len(result.table) <= ANNOTATE_MAX_ROWS:
        from cxc_analysis.table.annotate import annotate_tracker

        extra["tracker_annotated.xlsx"] = lambda path: annotate_tracker(result.table, result.findings, path)
    write_processed(result, folder or DATA_PROCESSED, source, facts, extra=extra)
    return result


def record_facts(folder: str | Path, facts: dict) -> dict:
    """Add whose data it is (partnership, period, targets) to a processed folder's source.json."""

    record = {**read_source(folder), **facts}
    write_atomic(Path(folder) / "source.json",
                 lambda tmp: tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8"))
    return record


def read_source(folder: str | Path | None = None) -> dict:
    """What source.json says of the tracker behind a processed folder ({} if it says nothing)."""
    path = Path(folder or DATA_PROCESSED) / "source.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_rules(results: pd.DataFrame, folder: str | Path | None = None) -> pd.DataFrame:
    """Keep the programme-rule results beside the table (rules.parquet), for the workbook export;
    returns them unchanged, so a notebook can chain it."""
    write_parquet(_portable(results), check_writable(folder or DATA_PROCESSED) / "rules.parquet")
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


def processed_settings(folder: str | Path | None, partnership: str = "", period: str = "",
                       targets_path: str = "") -> tuple[str, str, dict[str, int]]:
    """Partnership, period and targets for a processed folder: as given, else what its
    source.json records, else REMOBILISE's only when the data is the bundled workbook; never
    another partnership's data under REMOBILISE's name (InputError instead)."""
    from cxc_analysis.report.processed import read_source

    source = read_source(folder)
    bundled = _is_bundled(source)
    partnership = partnership or source.get("partnership") or (DEFAULT_PARTNERSHIP if bundled else "")
    period = period or source.get("period") or (DEFAULT_PERIOD if bundled else "")
    if not partnership or not period:
        missing = " and ".join(n for n, v in (("partnership", partnership), ("period", period)) if not v)
        raise InputError(f"the processed data comes from {shown(str(source.get('file', 'an unrecorded tracker')))} "
                         f"and does not say its {missing}: set the {missing} parameter"
                         + ("s" if " and " in missing else "") + " (or clean it with "
                         + " and ".join(f"--{n}" for n in missing.split(" and ")) + ")",
                         file=folder or "processed")
    if targets_path:
        return partnership, period, read_targets(targets_path)
    recorded = source.get("targets")
    if isinstance(recorded, dict) and str(source.get("partnership") or "").casefold() == partnership.casefold():
        return partnership, period, {k: int(v) for k, v in (recorded.get("values") or {}).items()}
    return partnership, period, targets_for(partnership)



def _is_bundled(source: dict) -> bool:
    if not source:
        return False
    return source.get("file") == DEFAULT_INPUT.name and source.get("sha256") == _bundled_sha()



@functools.lru_cache(maxsize=1)
def _bundled_sha() -> str:

    return sha256(DEFAULT_INPUT)
