"""Will the targets be met: reporting periods, the project's months, the pace so far and the
figure projected at the project's end against each target.

A projection is arithmetic on the pace so far (completed per month), never data: the report
draws it dashed and says plainly when there is too little to project (no project dates, no
month in the period label and no exchange dates). Knows nothing of files except
``read_project``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.yamlfile import read_yaml
from cxc_analysis.kpis import usable
from cxc_analysis.reference.targets import targets_file_for

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")


@dataclass(frozen=True)
class Period:
    """A reporting-period label read into a project month and a calendar month, where it says them."""
    label: str
    month: int | None = None
    date: dt.date | None = None

    @property
    def name(self) -> str:
        """'M12 (January 2023)' as 'M12, January 2023'; the label as written when it says neither."""
        parts = ([f"M{self.month}"] if self.month else []) + ([f"{self.date:%B %Y}"] if self.date else [])
        return ", ".join(parts) or self.label


def read_period(label: str | None) -> Period:
    """The project month ("M12") and calendar month ("January 2023", "2023-01") of a period label.

    >>> read_period("M12 (January 2023)")
    Period(label='M12 (January 2023)', month=12, date=datetime.date(2023, 1, 1))
    >>> read_period("2024-01").date, read_period("Year two").month
    (datetime.date(2024, 1, 1), None)
    """
    text = str(label or "")
    month = re.search(r"\bM\s?(\d{1,3})\b", text, re.I)
    named = re.search(r"\b(" + "|".join(MONTHS) + r"|" + "|".join(m[:3] for m in MONTHS) + r")\.?\s+(\d{4})\b",
                      text, re.I)
    numeric = re.search(r"\b(\d{4})-(\d{1,2})\b", text)
    date = None
    if named:
        date = dt.date(int(named.group(2)), [m[:3] for m in MONTHS].index(named.group(1)[:3].casefold()) + 1, 1)
    elif numeric and 1 <= int(numeric.group(2)) <= 12:
        date = dt.date(int(numeric.group(1)), int(numeric.group(2)), 1)
    return Period(text, int(month.group(1)) if month and int(month.group(1)) > 0 else None, date)


@dataclass(frozen=True)
class Project:
    """The project's first and last month (both counted), from the targets file."""
    start: dt.date
    end: dt.date
    source: str = ""

    @property
    def months(self) -> int:
        """Months from the first to the last, both counted (REMOBILISE: 24)."""
        return month_number(self.end, self.start)


def month_number(date: dt.date, start: dt.date) -> int:
    """The project month a date falls in: the start month is M1.

    >>> month_number(dt.date(2023, 1, 31), dt.date(2022, 2, 1))
    12
    """
    return (date.year - start.year) * 12 + date.month - start.month + 1


def month_date(number: int, start: dt.date) -> dt.date:
    """The first day of project month ``number``.

    >>> month_date(24, dt.date(2022, 2, 1))
    datetime.date(2024, 1, 1)
    """
    index = start.year * 12 + start.month - 1 + number - 1
    return dt.date(index // 12, index % 12 + 1, 1)


def _month(value, key: str, path) -> dt.date:
    if isinstance(value, dt.date):
        return value.replace(day=1)
    found = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-\d{1,2})?", str(value).strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise InputError(f"project '{key}' must be a month like 2022-02, not {value!r}", file=path)
    return dt.date(int(found.group(1)), int(found.group(2)), 1)


def read_project(path: str | Path) -> Project | None:
    """The ``project:`` block of a targets file (start and end month, source), or None.

    >>> from cxc_analysis.core.config import DEFAULT_TARGETS
    >>> read_project(DEFAULT_TARGETS).months
    24
    """

    block = read_yaml(path).get("project")
    if block is None:
        return None
    if not isinstance(block, dict) or "start" not in block or "end" not in block:
        raise InputError("'project' must give 'start' and 'end' months (e.g. 2022-02, 2024-01)", file=path)
    project = Project(_month(block["start"], "start", path), _month(block["end"], "end", path),
                      str(block.get("source", "")))
    if project.months < 1:
        raise InputError("project 'end' is before its 'start'", file=path)
    return project


def project_for(partnership: str, path: str | Path | None = None) -> Project | None:
    """The project dates to project against, from the targets file that applies to this
    partnership (``settings.targets_file_for``)."""

    chosen = targets_file_for(partnership, path)
    return read_project(chosen) if chosen is not None else None


# --- pace and projection ------------------------------------------------------------------

def completed_by_month(table: pd.DataFrame, start: dt.date) -> pd.Series:
    """Completed usable exchanges per project month, from their end date (else start date);
    empty when the tracker has no dates. Exchanges without a date are not in it.

    >>> t = pd.DataFrame({"status": ["completed"] * 2, "excluded": [False] * 2,
    ...                   "end_date": pd.to_datetime(["2022-03-04", None]), "start_date": pd.to_datetime([None, "2022-02-10"])})
    >>> completed_by_month(t, dt.date(2022, 2, 1)).to_dict()
    {1: 1, 2: 1}
    """
    rows = usable(table)
    rows = rows[(rows["status"] == "completed").to_numpy(dtype=bool)]
    if "end_date" not in rows or "start_date" not in rows:
        return pd.Series(dtype=int)
    when = pd.to_datetime(rows["end_date"]).fillna(pd.to_datetime(rows["start_date"])).dropna()
    months = [(d.year - start.year) * 12 + d.month - start.month + 1 for d in when]
    return pd.Series(months, dtype=int).value_counts().sort_index().rename_axis(None).rename(None)


def months_elapsed(period: Period, project: Project | None, dated: pd.Series | None = None) -> int | None:
    """Project months covered by the figures: the period's M number, else its calendar month
    against the project start, else the last month with a dated exchange; None if nothing says.

    >>> p = Project(dt.date(2022, 2, 1), dt.date(2024, 1, 1))
    >>> months_elapsed(read_period("M12"), None), months_elapsed(read_period("June 2022"), p)
    (12, 5)
    >>> months_elapsed(read_period("June 2021"), p) is None
    True
    """
    if period.month:
        return period.month
    if period.date and project:
        number = month_number(period.date, project.start)
        return number if number >= 1 else None  # a period before the project started says nothing
    if dated is not None and len(dated):
        return int(dated.index.max())
    return None


def project_kpis(kpis: pd.DataFrame, elapsed: int, total: int) -> pd.DataFrame:
    """Per KPI: ``actual``, ``target``, ``pace`` (completed a month so far), ``projected`` at the
    project's end at that pace, ``reached_month`` (the month the target is reached at that pace;
    0 if already reached) and ``needed_per_month`` (from now on, where the pace falls short).

    >>> k = pd.DataFrame({"actual": [42, 18, 13], "target": pd.array([80, 40, 5], dtype="Int64")},
    ...                  index=["exchanges", "sme", "cluster_organisation"])
    >>> project_kpis(k, 12, 24)[["pace", "projected", "reached_month", "needed_per_month"]].values.tolist()
    [[3.5, 84.0, 23.0, nan], [1.5, 36.0, nan, 1.8333333333333333], [1.0833333333333333, 26.0, 0.0, nan]]
    """
    out = pd.DataFrame(index=kpis.index)
    out["actual"] = kpis["actual"].astype(float)
    out["target"] = kpis["target"].astype("Float64").to_numpy(dtype=float, na_value=math.nan)
    out["pace"] = out["actual"] / elapsed
    remaining = max(total - elapsed, 0)
    out["projected"] = out["actual"] + out["pace"] * remaining
    short = out["target"] - out["actual"]
    reached = [0.0 if s <= 0 else (elapsed + math.ceil(s / p) if p > 0 else math.nan) if s == s else math.nan
               for s, p in zip(short, out["pace"])]
    out["reached_month"] = [r if r == r and r <= total else math.nan for r in reached]
    out["needed_per_month"] = [s / remaining if s == s and s > 0 and remaining and not (r == r) else math.nan
                               for s, r in zip(short, out["reached_month"])]
    return out


def verdict(row: pd.Series, total: int, start: dt.date | None = None) -> str:
    """One plain sentence per KPI from a ``project_kpis`` row.

    >>> verdict(pd.Series({"actual": 18.0, "target": 40.0, "pace": 1.5, "projected": 36.0,
    ...                    "reached_month": math.nan, "needed_per_month": 11 / 6}), 24)
    'not at this pace: about 36 of 40 by M24; 1.8 a month needed from now'
    """
    def when(month: float) -> str:
        return f"M{int(month)}" + (f" ({month_date(int(month), start):%B %Y})" if start else "")

    if row["target"] != row["target"]:
        return f"no target; about {row['projected']:.0f} by M{total} at this pace"
    if row["reached_month"] == 0:
        return "target already reached"
    if row["reached_month"] == row["reached_month"]:
        return f"on course: target reached about {when(row['reached_month'])}, about {row['projected']:.0f} by M{total}"
    if row["needed_per_month"] == row["needed_per_month"]:
        return (f"not at this pace: about {row['projected']:.0f} of {row['target']:.0f} by M{total}; "
                f"{row['needed_per_month']:.1f} a month needed from now")
    return f"not reached: {row['actual']:.0f} of {row['target']:.0f} and no months left"


def too_little_reason(project: Project | None, elapsed: int | None) -> str:
    """Why there is too little to project, in words.

    >>> too_little_reason(None, 12)
    'the project start and end are not known (the targets file can give them: project: start, end)'
    """
    if project is None:
        return "the project start and end are not known (the targets file can give them: project: start, end)"
    return "the period label gives no month (such as M12 or January 2023) and the tracker has no exchange dates"
