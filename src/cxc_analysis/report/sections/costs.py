"""At what cost: the support paid where the tracker has amounts, in total, per type of visiting
organisation and per event, and full against halved lump sums by the programme's rules
(a stay of 3-4 working days or hosts under 200 km apart halve the lump sum). Counts usable
exchanges with an amount; says how many have none.
"""

from __future__ import annotations

import pandas as pd

from cxc_analysis.core.schema import SINGULAR
from cxc_analysis.kpis import usable

FULL, HALVED, NOT_KNOWN = "full", "halved", "cannot tell"


def paid(table: pd.DataFrame) -> pd.DataFrame:
    """The usable exchanges that have an amount."""
    rows = usable(table)
    if "amount_eur" not in rows:
        return rows.iloc[:0]
    return rows[pd.to_numeric(rows["amount_eur"], errors="coerce").notna().to_numpy()]


def lump_sum_kinds(results: pd.DataFrame) -> pd.Series:
    """Per row: "halved" where the duration or distance rule passes with a warning (the rule set
    halves the lump sum: a short stay, hosts too close), "full" where both pass cleanly, else
    "cannot tell".

    >>> r = pd.DataFrame({"row": [2, 2, 3, 3], "rule": ["duration", "distance"] * 2,
    ...                   "outcome": ["pass", "pass", "pass", "pass"], "severity": [None, None, None, "warning"]})
    >>> lump_sum_kinds(r).to_dict()
    {2: 'full', 3: 'halved'}
    """
    rule, outcome = results["rule"].astype(str), results["outcome"].astype(str)
    warned = results["severity"].fillna("") == "warning"
    halves = rule.isin(["duration", "distance"]) & (outcome == "pass") & warned
    clean = (rule.isin(["duration", "distance"])) & (outcome == "pass") & ~warned
    by_row = pd.DataFrame({"row": results["row"], "halves": halves, "clean": clean})
    by_row = by_row[rule.isin(["duration", "distance"]).to_numpy()].groupby("row").agg(
        halves=("halves", "any"), clean=("clean", "sum"))
    kinds = pd.Series(NOT_KNOWN, index=by_row.index, dtype="object")
    kinds[by_row["clean"] == 2] = FULL
    kinds[by_row["halves"]] = HALVED
    return kinds.rename_axis(None)


def spending(table: pd.DataFrame, results: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Support paid: ``total`` (exchanges, EUR), ``by_type``, ``by_event`` and ``by_lump_sum``
    (each with ``exchanges`` and ``eur``), over the usable exchanges with an amount.

    >>> t = pd.DataFrame({"source_row": [2, 3, 4], "vo_entity_type": ["sme", "sme", "large_company"],
    ...                   "event": ["E", "F", "E"], "amount_eur": [1100.0, 550.0, None], "excluded": [False] * 3})
    >>> s = spending(t)
    >>> int(s["total"].loc[0, "exchanges"]), s["by_type"]["eur"].to_dict()
    (2, {'SME': 1650.0})
    """
    rows = paid(table)
    amounts = pd.to_numeric(rows["amount_eur"], errors="coerce").astype(float) if len(rows) else pd.Series(dtype=float)
    frame = pd.DataFrame({"eur": amounts.to_numpy(), "row": rows["source_row"].to_numpy(),
                          "type": rows["vo_entity_type"].astype("object").map(SINGULAR.get).fillna("Type unknown")
                          .to_numpy(), "event": rows["event"].astype("object").fillna("(no event)").to_numpy()})
    kinds = lump_sum_kinds(results) if results is not None else pd.Series(dtype="object")
    frame["lump_sum"] = [kinds.get(r, NOT_KNOWN) for r in frame["row"]]

    def by(column: str) -> pd.DataFrame:
        grouped = frame.groupby(column).agg(exchanges=("eur", "size"), eur=("eur", "sum"))
        return grouped.sort_values("eur", ascending=False, kind="stable").rename_axis(None)

    total = pd.DataFrame({"exchanges": [len(frame)], "eur": [float(frame["eur"].sum())]})
    return {"total": total, "by_type": by("type"), "by_event": by("event"), "by_lump_sum": by("lump_sum")}


def read_budget(path) -> float | None:
    """The budget for financial support to third parties, if the targets file states one
    (``budget_eur:`` at the top level)."""
    from cxc_analysis.core.errors import InputError
    from cxc_analysis.core.yamlfile import read_yaml

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
    from cxc_analysis.reference.targets import targets_file_for

    chosen = targets_file_for(partnership, path)
    return read_budget(chosen) if chosen is not None else None
