"""The programme office's view: every partnership of a generation side by side, each exchange
counted once, and the rule only the programme can check (an organisation visits once per
generation, whichever partnership it visits in).

Knows nothing of files or charts: it takes each partnership's cleaned table (``Member``) and
returns tables. ``report``'s programme runner reads the run file and the trackers.

The same exchange in two trackers (the host's partnership's and the visitor's) is one exchange:
same host and visitor by the keys ``single_visit`` uses (case, spacing, accents, punctuation,
legal forms such as B.V., Ltd, GmbH, S.r.l.), and the same event or overlapping dates. It counts
toward the partnership its rows name as paying the visitor (a ``paying_partnership`` column, VOP),
else toward the first of them in the run file, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxc_analysis.core.schema import KPI_NAMES
from cxc_analysis.core.text import key, keys
from cxc_analysis.kpis import count_kpis, kpi_json, kpi_table
from cxc_analysis.reference.register import identity_keys

VISITS = ("completed", "pending")  # statuses of an exchange that happened or is happening


@dataclass(frozen=True)
class Member:
    """One partnership of the generation: its run name, partnership name, cleaned table (with
    ``source_row`` and ``excluded``), targets, and the sheet or file its rows come from."""

    name: str
    partnership: str
    table: pd.DataFrame
    targets: dict = field(default_factory=dict)
    period: str = ""


def candidate_rows(members: list[Member]) -> pd.DataFrame:
    """Every usable exchange of every member that happened or is happening, one row each:
    ``member`` (position in the run file), ``source_row``, ``host``, ``visitor`` and ``event``
    keys, ``start``, ``end``, ``paying`` (the paying partnership's key, or None), and the
    columns the KPIs count by."""
    frames = []
    for number, member in enumerate(members):
        table = member.table
        keep = ~table["excluded"].fillna(False).to_numpy(dtype=bool) & table["status"].isin(VISITS).to_numpy(bool)
        rows = table.loc[keep]
        frame = pd.DataFrame({
            "member": number,
            "source_row": rows["source_row"].to_numpy(),
            "host": identity_keys(rows["host_org"]),
            "visitor": identity_keys(rows["visiting_org"]),
            "host_org": rows["host_org"].astype(object).to_numpy(),
            "visiting_org": rows["visiting_org"].astype(object).to_numpy(),
            "event": _text_keys(rows, "event"),
            "event_text": rows["event"].astype(object).to_numpy() if "event" in rows else None,
            "start": _dates(rows, "start_date"),
            "end": _dates(rows, "end_date"),
            "paying": _text_keys(rows, "paying_partnership"),
            "status": rows["status"].astype(object).to_numpy(),
            "partnership": rows["partnership"].astype(object).to_numpy(),
            "vo_entity_type": rows["vo_entity_type"].astype(object).to_numpy(),
        })
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["member", "source_row", "host", "visitor", "event", "start", "end", "paying"])
    return pd.concat(frames, ignore_index=True)


def _text_keys(rows: pd.DataFrame, column: str) -> np.ndarray:
    """``text.keys`` of a text column; None where it is empty or the table lacks it."""
    if column not in rows:
        return np.full(len(rows), None, dtype=object)
    found = keys(rows[column].astype(object).to_numpy())
    return np.where(found == "", None, found)


def _dates(rows: pd.DataFrame, column: str) -> np.ndarray:
    if column not in rows:
        return np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]")
    return pd.to_datetime(rows[column]).to_numpy().astype("datetime64[D]")


def same_exchange(event_a, event_b, start_a, end_a, start_b, end_b) -> bool | None:
    """True when two rows of the same host and visitor are one exchange (the same event, or dates
    that overlap), False when they are two (other events, or dates apart), None when neither the
    events nor the dates of both rows say. Dates are ``numpy.datetime64`` (NaT when missing); a
    missing end is the start.

    >>> day = np.datetime64
    >>> same_exchange("expo", "expo", day("NaT"), day("NaT"), day("NaT"), day("NaT"))
    True
    >>> same_exchange(None, "expo", day("2023-03-06"), day("2023-03-10"), day("2023-03-10"), day("NaT"))
    True
    >>> same_exchange("expo", "jec", day("NaT"), day("NaT"), day("NaT"), day("NaT")), same_exchange(None, "expo", *[day("NaT")] * 4)
    (False, None)
    """
    event_a, event_b = (e if isinstance(e, str) and e else None for e in (event_a, event_b))
    if event_a and event_b and event_a == event_b:
        return True
    if not (np.isnat(start_a) or np.isnat(start_b)):
        end_a = start_a if np.isnat(end_a) else end_a
        end_b = start_b if np.isnat(end_b) else end_b
        return bool(start_a <= end_b and start_b <= end_a)
    if event_a and event_b:
        return False
    return None


def exchange_units(rows: pd.DataFrame) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One unit number per candidate row: rows of different members that are one exchange share
    a unit; and the pairs of rows (positions) that may be one exchange but cannot be told apart
    (same host and visitor, no event or dates on one side).

    Only rows of the same host and visitor in two or more members are compared, pair by pair.
    """
    unit = np.arange(len(rows))
    uncertain: list[tuple[int, int]] = []
    both = rows["host"].notna() & rows["visitor"].notna()
    pairs = rows.loc[both, ["host", "visitor", "member"]]
    spread = pairs.groupby(["host", "visitor"], sort=False)["member"].transform("nunique")
    candidates = pairs.index[(spread > 1).to_numpy()]
    parent = {int(i): int(i) for i in candidates}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    member = rows["member"].to_numpy()
    event = rows["event"].to_numpy()
    start = rows["start"].to_numpy().astype("datetime64[D]")
    end = rows["end"].to_numpy().astype("datetime64[D]")
    for _, group in rows.loc[candidates].groupby(["host", "visitor"], sort=False):
        positions = group.index.to_list()
        for i, a in enumerate(positions):
            for b in positions[i + 1:]:
                if member[a] == member[b]:
                    continue  # one tracker's own copies are its own duplicate findings
                same = same_exchange(event[a], event[b], start[a], end[a], start[b], end[b])
                if same is None:
                    uncertain.append((a, b))
                elif same:
                    parent[root(a)] = root(b)
    for i in parent:
        unit[i] = root(i)
    return unit, uncertain


def _linked(unit: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Units with the uncertain pairs joined too: what the repeat-visit check compares, so a pair
    nobody can tell apart is listed as uncertain, never as a repeat visit."""
    linked = unit.copy()
    for a, b in pairs:
        old, new = linked[a], linked[b]
        linked[linked == old] = new
    return linked


@dataclass(frozen=True)
class Generation:
    """The programme's figures for one generation of partnerships."""

    members: list[Member]
    rows: pd.DataFrame  # candidate rows with ``unit`` and ``counted`` (the row the programme counts)
    uncertain: list[tuple[int, int]]

    @property
    def names(self) -> list[str]:
        return [m.partnership for m in self.members]


def generation(members: list[Member]) -> Generation:
    """Match the members' exchanges and choose, for each exchange in several trackers, the one
    row the programme counts (the paying partnership's, else the first member's in run order)."""
    rows = candidate_rows(members)
    unit, uncertain = exchange_units(rows)
    rows = rows.assign(unit=unit, visit=_linked(unit, uncertain))
    partnership_key = [key(m.partnership) for m in members]
    rows["payer"] = [partnership_key.index(p) if p in partnership_key else -1 for p in rows["paying"]]
    size = rows.groupby("unit")["member"].transform("size").to_numpy()
    paid_here = (rows["payer"] == rows["member"]).to_numpy()
    # within a unit: the row whose own member pays first, then the member's run-file position
    order = rows.assign(_paid=~paid_here).sort_values(["unit", "_paid", "member", "source_row"], kind="stable")
    first = ~order["unit"].duplicated()
    rows["counted"] = False
    rows.loc[order.index[first.to_numpy()], "counted"] = True
    rows["shared"] = size > 1
    return Generation(members, rows, uncertain)


def side_by_side(gen: Generation) -> pd.DataFrame:
    """One row per partnership and KPI: ``actual``, ``pending``, ``target``, ``pct_of_target``, as
    each partnership's own ``kpis`` gives them (its tracker alone)."""
    frames = [kpi_table(m.table, m.targets).assign(partnership=m.partnership).reset_index() for m in gen.members]
    if not frames:
        return pd.DataFrame(columns=["partnership", "kpi", "actual", "pending", "target", "pct_of_target"])
    return pd.concat(frames, ignore_index=True)[["partnership", "kpi", "actual", "pending", "target",
                                                 "pct_of_target"]]


def counted_once(gen: Generation) -> pd.DataFrame:
    """The programme's KPIs with every exchange counted once: ``actual`` and ``pending`` per KPI,
    and ``recorded`` (the sum of the partnerships' own figures, shared exchanges counted in each).

    A row counts for its own tracker's classification (inside/outside, entity type)."""
    counted = gen.rows.loc[gen.rows["counted"]].assign(excluded=False)
    every = gen.rows.assign(excluded=False)
    out = pd.DataFrame({"actual": count_kpis(counted, "completed"), "pending": count_kpis(counted, "pending"),
                        "recorded": count_kpis(every, "completed")}, index=list(KPI_NAMES))
    out.index.name = "kpi"
    return out


def shared_exchanges(gen: Generation) -> pd.DataFrame:
    """One row per exchange found in two or more trackers: ``host``, ``visitor``, ``event`` (as
    the counted row writes them), ``partnerships`` and ``rows`` ("REMOBILISE row 7; ..."),
    ``counted_in`` and ``why`` (paid by it, or the first listed)."""
    rows = gen.rows.loc[gen.rows["shared"]]
    records = []
    for _, unit in rows.groupby("unit", sort=False):
        unit = unit.sort_values(["member", "source_row"])
        counted = unit.loc[unit["counted"]].iloc[0]
        paid = counted["payer"] == counted["member"]
        names = [gen.members[m].partnership for m in unit["member"]]
        records.append({
            "host": counted["host_org"], "visitor": counted["visiting_org"],
            "event": counted["event_text"] if isinstance(counted["event_text"], str) else "",
            "partnerships": list(dict.fromkeys(names)),
            "rows": [f"{n} row {int(r)}" for n, r in zip(names, unit["source_row"])],
            "counted_in": gen.members[counted["member"]].partnership,
            "why": "pays the visitor" if paid else "first in the run file (no tracker says who pays)",
        })
    return pd.DataFrame(records, columns=["host", "visitor", "event", "partnerships", "rows", "counted_in", "why"])


def repeat_visitors(gen: Generation) -> pd.DataFrame:
    """Visitors with exchanges in two or more partnerships that are not one shared exchange: a
    programme-level fail of "once per generation". One row per visitor: ``visitor``,
    ``partnerships``, ``rows`` (every visit, by partnership and row), ``exchanges`` (distinct)."""
    rows = gen.rows.loc[gen.rows["visitor"].notna()]
    records = []
    spread = rows.groupby("visitor")["member"].transform("nunique")
    units = rows.groupby("visitor")["visit"].transform("nunique")
    for visitor, group in rows.loc[(spread > 1).to_numpy() & (units > 1).to_numpy()].groupby("visitor", sort=True):
        group = group.sort_values(["member", "source_row"])
        names = [gen.members[m].partnership for m in group["member"]]
        records.append({"visitor": group["visiting_org"].iloc[0], "partnerships": list(dict.fromkeys(names)),
                        "rows": [f"{n} row {int(r)}" for n, r in zip(names, group["source_row"])],
                        "exchanges": int(group["visit"].nunique())})
    return pd.DataFrame(records, columns=["visitor", "partnerships", "rows", "exchanges"])


def uncertain_pairs(gen: Generation) -> pd.DataFrame:
    """Pairs of rows of the same host and visitor in two trackers that may be one exchange but
    cannot be told apart (no event or dates on one side): counted in both, listed for a person."""
    records = []
    for a, b in gen.uncertain:
        ra, rb = gen.rows.loc[a], gen.rows.loc[b]
        records.append({"host": ra["host_org"], "visitor": ra["visiting_org"],
                        "rows": [f"{gen.members[ra['member']].partnership} row {int(ra['source_row'])}",
                                 f"{gen.members[rb['member']].partnership} row {int(rb['source_row'])}"]})
    return pd.DataFrame(records, columns=["host", "visitor", "rows"])


def programme_json(gen: Generation, not_read: dict[str, str] | None = None) -> dict:
    """``{"partnerships": {name: {actual, pending, target}}, "programme": {actual, pending},
    "shared_exchanges": [...], "repeat_visitors": [...], "uncertain": [...], "not_read": {...}}``,
    with ``kpis --json``'s keys."""

    once = counted_once(gen)
    return {
        "partnerships": {m.partnership: {**kpi_json(kpi_table(m.table, m.targets)),
                                         "cancelled": count_kpis(m.table, "cancelled")} for m in gen.members},
        "programme": {col: {k: int(v) for k, v in once[col].items()} for col in ("actual", "pending")},
        "shared_exchanges": shared_exchanges(gen).drop(columns=["why"]).rename(
            columns={"counted_in": "counted_in"}).to_dict("records"),
        "repeat_visitors": repeat_visitors(gen).drop(columns=["exchanges"]).to_dict("records"),
        "uncertain": uncertain_pairs(gen).to_dict("records"),
        "not_read": dict(not_read or {}),
    }
