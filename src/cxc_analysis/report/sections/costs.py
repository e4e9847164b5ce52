"""At what cost: the support paid where the tracker has amounts, in total, per type of visiting
organisation and per event, and full against halved lump sums as the programme rules decide them
(``rules.lump_sums``: a stay under the full number of working days, or hosts closer than the
minimum distance, halve the lump sum). Counts usable exchanges with an amount; says how many have none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import SINGULAR
from cxc_analysis.core.yamlfile import read_yaml
from cxc_analysis.kpis import usable
from cxc_analysis.reference.targets import targets_file_for

NOT_KNOWN = "cannot tell"


def paid(table: pd.DataFrame) -> pd.DataFrame:
    """The usable exchanges that have an amount."""
    rows = usable(table)
    if "amount_eur" not in rows:
        return rows.iloc[:0]
    return rows[pd.to_numeric(rows["amount_eur"], errors="coerce").notna().to_numpy()]


def spending(table: pd.DataFrame, lump_sums: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Support paid: ``total`` (exchanges, EUR), ``by_type``, ``by_event`` and ``by_lump_sum``
    (each with ``exchanges`` and ``eur``), over the usable exchanges with an amount.
    ``lump_sums`` is the rules' decision per Excel row (``rules.RuleResults.lump_sums``: the
    same one ``max_support`` checks against): "full", "halved" or "cannot tell", and ``why``;
    a row it does not decide is "cannot tell". ``by_lump_sum`` splits "cannot tell" by why
    ("cannot tell: no end date").

    >>> t = pd.DataFrame({"source_row": [2, 3, 4], "vo_entity_type": ["sme", "sme", "large_company"],
    ...                   "event": ["E", "F", "E"], "amount_eur": [1100.0, 550.0, None], "excluded": [False] * 3})
    >>> s = spending(t, pd.DataFrame({"lump_sum": ["full", "halved"], "why": ["", "4 working days, under 5"]},
    ...                               index=[2, 3]))
    >>> int(s["total"].loc[0, "exchanges"]), s["by_type"]["eur"].to_dict(), s["by_lump_sum"]["eur"].to_dict()
    (2, {'SME': 1650.0}, {'full': 1100.0, 'halved': 550.0})
    """
    rows = paid(table)
    amounts = pd.to_numeric(rows["amount_eur"], errors="coerce").astype(float) if len(rows) else pd.Series(dtype=float)
    frame = pd.DataFrame({"eur": amounts.to_numpy(), "row": rows["source_row"].to_numpy(),
                          "type": rows["vo_entity_type"].astype("object").map(SINGULAR.get).fillna("Type unknown")
                          .to_numpy(), "event": rows["event"].astype("object").fillna("(no event)").to_numpy()})
    decided = lump_sums if lump_sums is not None else pd.DataFrame({"lump_sum": [], "why": []}, dtype=object)
    kind = np.array(decided["lump_sum"].reindex(frame["row"]).fillna(NOT_KNOWN), dtype=object)
    why = decided["why"].reindex(frame["row"]).fillna("not checked against the rules").to_numpy(dtype=object)
    unsure = kind == NOT_KNOWN
    kind[unsure] = [f"{NOT_KNOWN}: {w}" if w else NOT_KNOWN for w in why[unsure]]
    frame["lump_sum"] = kind

    def by(column: str) -> pd.DataFrame:
        grouped = frame.groupby(column).agg(exchanges=("eur", "size"), eur=("eur", "sum"))
        return grouped.sort_values("eur", ascending=False, kind="stable").rename_axis(None)

    total = pd.DataFrame({"exchanges": [len(frame)], "eur": [float(frame["eur"].sum())]})
    return {"total": total, "by_type": by("type"), "by_event": by("event"), "by_lump_sum": by("lump_sum")}


def read_budget(path) -> float | None:
    """The budget for financial support to third parties, if the targets file states one
    (``budget_eur:`` at the top level)."""

    if not path:
        return None
    value = read_yaml(path).get("budget_eur")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InputError(f"'budget_eur' must be an amount >= 0, not {value!r}", file=path)
    return float(value)


def budget_for(partnership: str, path=None) -> float | None:
    """The support budget in the targets file that applies to this partnership
    (``settings.targets_file_for``)."""

    chosen = targets_file_for(partnership, path)
    return read_budget(chosen) if chosen is not None else None
