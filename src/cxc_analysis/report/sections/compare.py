"""Since the last report: an earlier tracker (or run) against this one.

Exchanges are matched by IT-tool ID, else by HO + VO + event (whatever the case); a pair that
is not certain (the same HO, VO and event more than once, the same HO and VO with another event,
or one ID on two different pairs of organisations) is kept and marked as uncertain, never
silently taken for sure. An exchange of the earlier tracker that matches nothing is *gone*: a
finding a reviewer must see. Pure functions on canonical tables; ``read_previous`` is the only
one that reads files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.report.processed import read_processed

ID, NAMES, UNCERTAIN = "IT-tool ID", "HO + VO + event", "uncertain"
MATCH_COLUMNS = ["previous_row", "row", "match", "note"]


# --- reading the earlier data -------------------------------------------------------------

def read_previous(path: str | Path, sheet: str | None = None, columns_path: str | Path | None = None,
                  vocabulary_path: str | Path | None = None) -> tuple[pd.DataFrame, str | None, Path]:
    """The earlier exchanges as a canonical table, the earlier period label if the run recorded
    one, and the file the table came from (for provenance).

    ``path`` is an earlier tracker (.xlsx, .csv, ...), an earlier run folder (its ``data/``
    table and ``provenance.json``) or a processed folder (``exchanges.parquet``). An earlier
    tracker is read with the reading options of the current one: ``sheet`` (for a workbook; a
    CSV has none), column map (``columns_path``) and vocabulary file (``vocabulary_path``); a
    folder is already clean.
    """
    path = Path(path)
    if path.is_file():
        from cxc_analysis.read.tracker import EXCEL_SUFFIXES
        from cxc_analysis.report.processed import read_and_clean

        sheet = sheet if path.suffix.lower() in EXCEL_SUFFIXES else None
        return read_and_clean(path, sheet, columns_path, vocabulary_path).table, None, path
    if not path.is_dir():
        raise InputError("earlier tracker or run folder not found (--previous)", file=path)
    data = path / "data" if (path / "data" / "exchanges.parquet").is_file() else path
    if not (data / "exchanges.parquet").is_file():
        raise InputError("neither a tracker nor a report run folder (no data/exchanges.parquet) (--previous)",
                         file=path)

    return read_processed(data).table, _recorded_period(path), data / "exchanges.parquet"


def _recorded_period(folder: Path) -> str | None:
    """The period an earlier run's provenance.json records (None if it records none)."""
    provenance = folder / "provenance.json"
    if not provenance.is_file():
        return None
    try:
        return json.loads(provenance.read_text(encoding="utf-8")).get("parameters", {}).get("period") or None
    except (ValueError, AttributeError):
        return None


# --- matching -----------------------------------------------------------------------------

def _key(table: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text key per row from some columns, case and spaces ignored (None where one is empty)."""
    parts = [table[c].astype("object").map(lambda v: " ".join(str(v).casefold().split()), na_action="ignore")
             for c in columns]
    key = parts[0].astype("object")
    for part in parts[1:]:
        key = key + "\x1f" + part
    return key.where(pd.concat(parts, axis=1).notna().all(axis=1), None)


def _pairs_by(previous: pd.DataFrame, current: pd.DataFrame, key_prev: pd.Series, key_now: pd.Series,
              match: str, note_if_several: str) -> pd.DataFrame:
    """Rows of both tables with equal keys, in order; pairs whose key is on several rows are uncertain."""
    left = pd.DataFrame({"key": key_prev.to_numpy(), "previous_row": previous["source_row"].to_numpy()}).dropna()
    right = pd.DataFrame({"key": key_now.to_numpy(), "row": current["source_row"].to_numpy()}).dropna()
    left["n"] = left.groupby("key").cumcount()
    right["n"] = right.groupby("key").cumcount()
    several = set(left.loc[left["key"].duplicated(keep=False), "key"]) | set(
        right.loc[right["key"].duplicated(keep=False), "key"])
    pairs = left.merge(right, on=["key", "n"])
    sure = ~pairs["key"].isin(several)
    return pd.DataFrame({"previous_row": pairs["previous_row"], "row": pairs["row"],
                         "match": [match if s else UNCERTAIN for s in sure],
                         "note": ["" if s else note_if_several for s in sure]})


def match_exchanges(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Pairs of earlier and current rows (``previous_row``, ``row``, ``match``, ``note``).

    >>> prev = pd.DataFrame({"source_row": [2, 3], "exchange_id": ["EG123AB4", None],
    ...                      "host_org": ["H", "H"], "visiting_org": ["A", "B"], "event": ["E", "F"]})
    >>> now = pd.DataFrame({"source_row": [5, 6], "exchange_id": [None, "EG123AB4"],
    ...                     "host_org": ["H", "H"], "visiting_org": ["b", "A"], "event": ["f", "E"]})
    >>> match_exchanges(prev, now)[["previous_row", "row", "match"]].values.tolist()
    [[2, 6, 'IT-tool ID'], [3, 5, 'HO + VO + event']]
    """
    found = []
    ids_prev, ids_now = _key(previous, ["exchange_id"]), _key(current, ["exchange_id"])
    by_id = _pairs_by(previous, current, ids_prev, ids_now, ID, "the IT-tool ID is on several rows")
    orgs_prev, orgs_now = _key(previous, ["host_org", "visiting_org"]), _key(current, ["host_org", "visiting_org"])
    moved = (orgs_prev.set_axis(previous["source_row"]).reindex(by_id["previous_row"]).to_numpy()
             != orgs_now.set_axis(current["source_row"]).reindex(by_id["row"]).to_numpy())
    by_id.loc[moved, ["match", "note"]] = [UNCERTAIN, "same IT-tool ID, but another HO or VO"]
    found.append(by_id)
    left, right = _unmatched(previous, current, found)
    found.append(_pairs_by(left, right, _key(left, ["host_org", "visiting_org", "event"]),
                           _key(right, ["host_org", "visiting_org", "event"]), NAMES,
                           "the same HO, VO and event are on several rows"))
    left, right = _unmatched(previous, current, found)
    by_orgs = _pairs_by(left, right, _key(left, ["host_org", "visiting_org"]),
                        _key(right, ["host_org", "visiting_org"]), UNCERTAIN, "")
    found.append(by_orgs.assign(match=UNCERTAIN, note="same HO and VO, another event"))
    return pd.concat(found, ignore_index=True)[MATCH_COLUMNS].astype({"previous_row": int, "row": int})


def _unmatched(previous: pd.DataFrame, current: pd.DataFrame, found: list[pd.DataFrame]):
    """The rows of both tables not in a pair yet."""
    pairs = pd.concat(found)
    return (previous[~previous["source_row"].isin(pairs["previous_row"])],
            current[~current["source_row"].isin(pairs["row"])])


# --- what changed -------------------------------------------------------------------------

def kpi_changes(previous_kpis: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Completed per KPI earlier, now and the change (now minus earlier).

    >>> a = pd.DataFrame({"actual": [3]}, index=["exchanges"]); b = pd.DataFrame({"actual": [5]}, index=["exchanges"])
    >>> kpi_changes(a, b).values.tolist()
    [[3, 5, 2]]
    """
    earlier, now = previous_kpis["actual"].astype(int), kpis["actual"].astype(int)
    return pd.DataFrame({"earlier": earlier, "now": now, "change": now - earlier}, index=kpis.index)


def added(current: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Current exchanges that match nothing earlier."""
    return current[~current["source_row"].isin(matches["row"])]


def gone(previous: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Earlier exchanges that match nothing now: gone from the tracker (a finding)."""
    return previous[~previous["source_row"].isin(matches["previous_row"])]


def status_changes(previous: pd.DataFrame, current: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """Matched exchanges whose status changed (pending -> completed, ...), with both texts.

    Columns: ``previous_row``, ``row``, ``host_org``, ``visiting_org``, ``event``, ``was``,
    ``now``, ``was_text``, ``now_text``, ``match``, ``note``.
    """
    before = previous.set_index("source_row")
    after = current.set_index("source_row")
    pairs = matches.assign(was=before["status"].astype("object").reindex(matches["previous_row"]).to_numpy(),
                           now=after["status"].astype("object").reindex(matches["row"]).to_numpy(),
                           was_text=before["status_text"].reindex(matches["previous_row"]).to_numpy(),
                           now_text=after["status_text"].reindex(matches["row"]).to_numpy())
    for column in ("host_org", "visiting_org", "event"):
        pairs[column] = after[column].reindex(matches["row"]).to_numpy()
    changed = pairs["was"].astype("object").fillna("?") != pairs["now"].astype("object").fillna("?")
    return pairs[changed.to_numpy()].reset_index(drop=True)


def uncertain(matches: pd.DataFrame) -> pd.DataFrame:
    """The pairs that are not certain, with why."""
    return matches[matches["match"] == UNCERTAIN].reset_index(drop=True)
