"""Actual (completed), pending and target, per KPI, and the breakdowns the report draws.

Rows with an error finding (``excluded``) count nowhere; nor do cancelled exchanges (they are
counted apart, ``status_counts``). Knows nothing of files or charts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import ENTITY_TYPES, KPI_NAMES, LABELS, STATUS_VALUES
from cxc_analysis.table.clean import EXCLUDING_FIELDS

# What the KPI counts depend on: status, partnership and entity type, and whether a row is excluded.
KPI_FIELDS = tuple(dict.fromkeys(("status", "partnership", "vo_entity_type", *EXCLUDING_FIELDS)))


def without_errors(table: pd.DataFrame) -> pd.DataFrame:
    """The rows without an error finding (cancelled exchanges included)."""
    return table.loc[~table["excluded"].fillna(False).to_numpy(dtype=bool)]


def usable(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that count: those without an error finding, and not cancelled.

    >>> t = pd.DataFrame({"status": ["completed", "cancelled", "pending"], "excluded": [False, False, True]})
    >>> usable(t).index.tolist()
    [0]
    """
    rows = without_errors(table)
    if "status" not in rows.columns:
        return rows
    return rows.loc[(rows["status"].astype("object") != "cancelled").to_numpy(dtype=bool)]


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """Exchanges without an error finding by status (completed, pending, cancelled); rows whose
    status is unknown have an error and are in none.

    >>> t = pd.DataFrame({"status": ["completed", "cancelled", "cancelled", None], "excluded": [False, False, False, True]})
    >>> status_counts(t)
    {'completed': 1, 'pending': 0, 'cancelled': 2}
    """
    status = without_errors(table)["status"].astype("object")
    return {value: int((status == value).sum()) for value in STATUS_VALUES}


def require_usable(table: pd.DataFrame, file=None) -> pd.DataFrame:
    """The table, or InputError when it has exchanges but every one has an error finding: its
    figures would all be zero, which reads as "nothing happened" rather than "nothing readable".

    >>> require_usable(pd.DataFrame({"excluded": [True, True]}), file="t.csv")
    Traceback (most recent call last):
    ...
    cxc_analysis.core.errors.InputError: t.csv: no usable exchange: all 2 rows have errors, so every figure would be 0; see each row's findings with `cxc-analysis clean --annotate`
    """
    if len(table) and without_errors(table).empty:
        rows = f"all {len(table)} rows have" if len(table) > 1 else "its one row has"
        raise InputError(f"no usable exchange: {rows} errors, so every figure would be 0; see each row's "
                         "findings with `cxc-analysis clean --annotate`", file=file)
    return table


def count_kpis(table: pd.DataFrame, status: str) -> dict[str, int]:
    """The seven KPI counts among exchanges without an error of one status (completed, pending or
    cancelled: the KPIs count only the first two).

    >>> t = pd.DataFrame({"status": ["completed"], "partnership": ["outside"], "vo_entity_type": ["sme"],
    ...                   "excluded": [False]})
    >>> count_kpis(t, "completed")["outside_partnership"]
    1
    """
    rows = ~table["excluded"].fillna(False).to_numpy(dtype=bool) & (table["status"] == status).to_numpy(dtype=bool)
    entity = pd.Categorical(table["vo_entity_type"], categories=list(ENTITY_TYPES)).codes[rows]
    by_type = np.bincount(entity[entity >= 0], minlength=len(ENTITY_TYPES))
    counts = {"exchanges": int(rows.sum()),
              "outside_partnership": int(((table["partnership"] == "outside").to_numpy(dtype=bool) & rows).sum())}
    counts.update({name: int(n) for name, n in zip(ENTITY_TYPES, by_type)})
    return counts


def kpi_table(table: pd.DataFrame, targets: dict[str, int | None]) -> pd.DataFrame:
    """One row per KPI: ``actual``, ``pending``, ``target``, ``pct_of_target`` (actual / target).

    The bundled D5.1 data gives the report's "Significant results": 42, 19, 13, 18, 2, 5, 4.
    """
    frame = pd.DataFrame({"actual": count_kpis(table, "completed"), "pending": count_kpis(table, "pending")},
                         index=list(KPI_NAMES))
    frame["target"] = pd.array([targets.get(name) for name in KPI_NAMES], dtype="Int64")
    target = frame["target"].where(frame["target"] > 0)  # a target of 0 has no percentage (not "inf")
    frame["pct_of_target"] = (100 * frame["actual"] / target).round(1).astype("Float64")
    frame.index.name = "kpi"
    return frame


def kpi_json(frame: pd.DataFrame) -> dict[str, dict[str, int | None]]:
    """``{"actual": {...}, "pending": {...}, "target": {...}}`` keyed by the seven KPI names."""
    return {col: {name: (None if pd.isna(v) else int(v)) for name, v in frame[col].items()}
            for col in ("actual", "pending", "target")}


def kpi_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The KPI table with plain-word row and column names, as a reviewer reads it."""
    out = frame.rename(index=LABELS).rename(columns={"actual": "Completed", "pending": "Pending",
                                                     "target": "Target", "pct_of_target": "% of target"})
    out.index.name = "Indicator"
    return out


def breakdown(table: pd.DataFrame, by: str, columns: str | None = None) -> pd.DataFrame:
    """Counts of usable exchanges by one column (and optionally across another).

    >>> t = pd.DataFrame({"event": ["A", "A", "B"], "status": ["completed"] * 3, "excluded": [False] * 3})
    >>> breakdown(t, "event")["count"].tolist()
    [2, 1]
    """
    rows = usable(table)
    if columns is None:
        return rows.groupby(by, observed=False, dropna=False).size().rename("count").to_frame()
    return pd.crosstab(rows[by], rows[columns], dropna=False)
