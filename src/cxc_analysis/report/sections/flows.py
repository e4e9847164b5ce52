"""Where the exchanges happened: host country x visitor country, and per country as host and
as visitor. Countries come from the tracker or, where it has none, the organisation register
(``register.fill_locations``); an unknown country is counted as "Unknown", never dropped. Counts
the usable exchanges (completed and pending), like the other breakdowns.
"""

from __future__ import annotations

import pandas as pd

from cxc_analysis.kpis import usable
from cxc_analysis.read.countries import country_codes, country_name
from cxc_analysis.reference.register import fill_locations

UNKNOWN = "Unknown"


def exchange_countries(table: pd.DataFrame, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """Host and visitor country of each usable exchange (``host``, ``visitor``): ISO codes where
    known, the text as written where it is no country, "Unknown" where nothing says.

    >>> t = pd.DataFrame({"host_org": ["H"], "visiting_org": ["V"], "ho_country": ["Germany"], "vo_country": [None],
    ...                   "excluded": [False]})
    >>> exchange_countries(t).values.tolist()
    [['DE', 'Unknown']]
    """

    rows = usable(table)
    if register is not None:
        rows = fill_locations(rows, register)
    out = {}
    for side, column in (("host", "ho_country"), ("visitor", "vo_country")):
        given = rows[column].astype("object") if column in rows else pd.Series(None, index=rows.index, dtype="object")
        out[side] = country_codes(given).astype("object").fillna(given).fillna(UNKNOWN).to_numpy()
    return pd.DataFrame(out, index=rows.index)


def flow_table(countries: pd.DataFrame) -> pd.DataFrame:
    """Exchanges per host country (rows) and visitor country (columns), busiest first, "Unknown" last.

    >>> c = pd.DataFrame({"host": ["FR", "FR", "DE"], "visitor": ["DE", "Unknown", "FR"]})
    >>> flow_table(c).to_dict()
    {'DE': {'FR': 1, 'DE': 0}, 'FR': {'FR': 0, 'DE': 1}, 'Unknown': {'FR': 1, 'DE': 0}}
    """
    flows = pd.crosstab(countries["host"], countries["visitor"])
    return flows.reindex(index=_order(flows.sum(axis=1)), columns=_order(flows.sum(axis=0)), fill_value=0).rename_axis(
        index=None, columns=None)


def _order(totals: pd.Series) -> list[str]:
    """Countries by count (largest first, then by name), the unknown ones last."""
    known = totals.drop(UNKNOWN, errors="ignore")
    ordered = sorted(known.index, key=lambda c: (-known[c], str(c)))
    return ordered + ([UNKNOWN] if UNKNOWN in totals.index else [])


def top_countries(flows: pd.DataFrame, n: int = 12) -> pd.DataFrame:
    """The flow table with at most ``n`` host and ``n`` visitor countries, the others summed as
    "Other countries" (so a big tracker's table and chart stay readable; nothing is dropped).

    >>> f = pd.DataFrame([[1, 2, 3]], index=["FR"], columns=["DE", "IT", "ES"])
    >>> top_countries(f, 2).to_dict("split")["columns"]
    ['DE', 'Other countries']
    """
    def fold(frame: pd.DataFrame) -> pd.DataFrame:
        if len(frame) <= n:
            return frame
        keep = [c for c in frame.index if c != UNKNOWN][: n - 1]
        other = frame.drop(index=keep + [UNKNOWN], errors="ignore").sum().to_frame("Other countries").T
        tail = frame.loc[[UNKNOWN]] if UNKNOWN in frame.index else frame.iloc[:0]
        return pd.concat([frame.loc[keep], other, tail])

    return fold(fold(flows).T).T


def per_country(countries: pd.DataFrame) -> pd.DataFrame:
    """Exchanges per country as host and as visitor (columns ``host``, ``visitor``, ``total``).

    >>> c = pd.DataFrame({"host": ["FR", "FR"], "visitor": ["DE", "FR"]})
    >>> per_country(c).to_dict("index")
    {'FR': {'host': 2, 'visitor': 1, 'total': 3}, 'DE': {'host': 0, 'visitor': 1, 'total': 1}}
    """
    counts = pd.DataFrame({"host": countries["host"].value_counts(), "visitor": countries["visitor"].value_counts()})
    counts = counts.fillna(0).astype(int)
    counts["total"] = counts["host"] + counts["visitor"]
    return counts.reindex(_order(counts["total"]))


def country_label(code: str) -> str:
    """A country's English name from its ISO code; any other text as it is.

    >>> country_label("FR"), country_label("Unknown")
    ('France', 'Unknown')
    """

    return country_name(code) if isinstance(code, str) and len(code) == 2 and code.isupper() else str(code)
