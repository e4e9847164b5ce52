"""What the notebooks show: reviewer-facing tables as escaped HTML, headline sentences.

Names in the data (organisations, events) are data: every cell is HTML-escaped, so a name
like ``<script>`` shows as text. Knows nothing of files or papermill.
"""

from __future__ import annotations

import html

import pandas as pd

from cxc_analysis.core.schema import LABELS, SINGULAR, column_labels, percent
from cxc_analysis.kpis import kpi_display
from cxc_analysis.reference.rulesets import RULE_NAMES, limits_table
from cxc_analysis.report.sections.compare import added, gone, status_changes, uncertain
from cxc_analysis.report.sections.flows import country_label
from cxc_analysis.report.sections.progress import verdict
from cxc_analysis.table.findings import problem_words

APPENDIX_COLUMNS = column_labels("exchange_id", "host_org", "visiting_org", "vo_entity_type", "partnership", "event",
                                 "status_text", "remarks")
# How many rows a listing shows in the HTML and PDF report (the workbook and the data folder hold all).
APPENDIX_LIMIT = 200
LISTING_LIMIT = 100
TOP_LIMIT = 15
CELL_CHARS = 300  # longest text a cell of the HTML and PDF shows; the workbook holds it whole

SEVERITIES = {"error": "Error", "warning": "Warning"}


def left_out_html(shown: int, total: int, what: str, where: str) -> str:
    """A sentence saying how many rows a listing leaves out and where the full list is; "" if none.

    >>> left_out_html(500, 1200, "exchanges", "report.xlsx")
    '<p class="left-out">The first 500 of 1,200 exchanges are listed here; the other 700 are in report.xlsx.</p>'
    """
    if total <= shown:
        return ""
    return (f'<p class="left-out">The first {shown:,} of {total:,} {html.escape(what)} are listed here; '
            f"the other {total - shown:,} are in {html.escape(where)}.</p>")


def html_table(df: pd.DataFrame, *, index: bool = False, numeric: tuple[str, ...] = (), css: str = "",
               caption: str | None = None, cell_chars: int | None = CELL_CHARS) -> str:
    """An HTML table with every cell escaped, texts cut at ``cell_chars`` (``cut``; None: whole);
    ``numeric`` columns right-aligned.

    >>> "&lt;b&gt;" in html_table(pd.DataFrame({"VO": ["<b>"]}))
    True
    """
    frame = df.reset_index() if index else df
    head = "".join(f'<th scope="col" class="{"num" if c in numeric else ""}">{html.escape(str(c))}</th>'
                   for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(f'<td class="{"num" if c in numeric else ""}">{_cell(v, cell_chars)}</td>'
                        for c, v in zip(frame.columns, row))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="data {css}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


class Markup(str):
    """Text that is already safe HTML (built here from escaped parts): shown as it is."""


def _cell(value, cell_chars: int | None = CELL_CHARS) -> str:
    if isinstance(value, Markup):
        return str(value)
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return '<span class="na">–</span>'
    if isinstance(value, float):
        return f"{value:.1f}"
    return html.escape(cut(str(value), cell_chars) if cell_chars else str(value))


def cut(text: str, limit: int = CELL_CHARS) -> str:
    """A text as a cell of the HTML and PDF shows it: at most ``limit`` characters, and how many
    more there are (the workbook and the data folder hold it whole).

    >>> cut("x" * 5, 3)
    'xxx… (2 more characters, whole in report.xlsx)'
    """
    if len(text) <= limit:
        return text
    more = len(text) - limit
    return f"{text[:limit]}… ({more:,} more character{'s' if more != 1 else ''}, whole in report.xlsx)"


def rule_words(rule: str) -> str:
    """A rule's name in plain words.

    >>> rule_words("cross_border")
    'Cross-border'
    """

    return RULE_NAMES.get(str(rule), str(rule))


def source_html(source: dict) -> str:
    """One line naming the tracker the figures come from, so nobody reads another file's numbers."""
    if not source:
        return '<p class="source">Data: tracker not recorded (cleaned by an older version).</p>'
    return (f'<p class="source">Data: {html.escape(str(source.get("file", "")))}, {int(source.get("exchanges", 0))} '
            f'rows (SHA-256 {html.escape(str(source.get("sha256", ""))[:12])}…)</p>')


def kpi_html(kpis: pd.DataFrame) -> str:
    """The "Significant results" table: completed, pending, target and % of target per indicator."""
    frame = kpi_display(kpis).reset_index()
    return html_table(frame, numeric=("Completed", "Pending", "Target", "% of target"), css="kpi")


def plural(count: int, one: str, many: str | None = None) -> str:
    """``count`` with the noun in agreement.

    >>> plural(1, "warning"), plural(3, "row"), plural(2, "company", "companies")
    ('1 warning', '3 rows', '2 companies')
    """
    return f"{count} {one if count == 1 else (many or one + 's')}"


def has_targets(kpis: pd.DataFrame) -> bool:
    """Whether any KPI has a grant-agreement target."""
    return bool(kpis["target"].notna().any())


def no_targets_html() -> str:
    """The sentence a report without targets shows where the target chart would be."""
    return ('<p class="note">No targets supplied: this report counts completed and pending exchanges but cannot '
            'compare them with grant-agreement targets; give the targets file with <code>--targets</code>.</p>')


def excluded_sentence(table: pd.DataFrame) -> str:
    """How many rows are left out of the figures for errors ('' when none).

    >>> excluded_sentence(pd.DataFrame({"excluded": [True, False, False]}))
    ' 1 of 3 rows has errors and is not counted (see Data quality).'
    """
    left_out = int(table["excluded"].fillna(False).astype(bool).sum())
    if not left_out:
        return ""
    verb = "has errors and is" if left_out == 1 else "have errors and are"
    return f" {left_out} of {plural(len(table), 'row')} {verb} not counted (see Data quality)."


def headline_html(kpis: pd.DataFrame, partnership: str, period: str, table: pd.DataFrame | None = None) -> str:
    """One paragraph saying where the partnership stands, in plain words (and, given the table,
    how many rows its errors leave out)."""
    row = kpis.loc["exchanges"]
    target = row["target"]
    of_target = (f" of the {int(target)} in the grant agreement ({percent(row['actual'], target)})"
                 if pd.notna(target) and target else " (no targets supplied)")
    more = int(row["pending"])
    pending = (f", and {more} more {'is' if more == 1 else 'are'} under way but not yet completed" if more else "")
    met = [LABELS[k].lower() for k in kpis.index
           if k != "exchanges" and pd.notna(kpis.loc[k, "target"]) and kpis.loc[k, "actual"] >= kpis.loc[k, "target"]]
    met_text = f" The target for {', '.join(met)} is already met." if met else ""
    met_text += excluded_sentence(table) if table is not None else ""
    done = int(row["actual"])
    return (f"<p class=\"headline\">At {html.escape(period)}, {html.escape(partnership)} has completed "
            f"<strong>{done}</strong> {'exchange' if done == 1 else 'exchanges'}{of_target}{pending}."
            f"{html.escape(met_text)}</p>")


def findings_summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings counted by severity and code, as a small table."""
    if findings.empty:
        return pd.DataFrame({"Severity": [], "Problem": [], "Rows": []})
    counts = findings.groupby(["severity", "code"]).size().rename("Rows").reset_index()
    counts["severity"] = counts["severity"].map(lambda v: SEVERITIES.get(v, v))
    counts["code"] = counts["code"].map(problem_words)
    return counts.rename(columns={"severity": "Severity", "code": "Problem"})


def rows_text(rows) -> str:
    """Excel rows as one short list.

    >>> rows_text([7, 3, 4])
    '3, 4, 7'
    """
    return ", ".join(str(int(r)) for r in sorted(rows))


def group_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Identical findings (same column, severity, problem and details) as one line with their rows."""
    keys = ["severity", "code", "column", "message"]
    grouped = findings.groupby(keys, sort=False, dropna=False)["row"].agg(rows_text).reset_index()
    return grouped[["row", *keys]]


def findings_html(findings: pd.DataFrame, limit: int | None = LISTING_LIMIT) -> str:
    """Every finding with its Excel row (identical ones on one line; the first ``limit`` lines,
    after a count per problem, when there are more); a sentence when there are none."""
    if findings.empty:
        return "<p>No problems found: every row was usable.</p>"
    frame = group_findings(findings).rename(columns={"row": "Rows", "column": "Column", "severity": "Severity",
                                                     "code": "Problem", "message": "Details"})
    frame["Severity"] = frame["Severity"].map(lambda v: SEVERITIES.get(v, v))
    frame["Problem"] = frame["Problem"].map(problem_words)
    if limit is None or len(frame) <= limit:
        return html_table(frame, css="findings")
    return (html_table(findings_summary(findings), numeric=("Rows",), css="counts")
            + left_out_html(limit, len(frame), "lines of findings", "report.xlsx (sheet Findings) and data/findings.csv")
            + html_table(frame.head(limit), css="findings"))


# How an unknown-label finding says which field it is about (its column is the tracker's own header).
AS_WRITTEN_EXPECTED = {"vo_entity_type": "(expected one of: cluster organisation", "partnership": "(expected one of: inside"}


def as_written(findings: pd.DataFrame | None, column: str) -> dict[int, str]:
    """The labels a person typed that the vocabulary did not know, by row (from the findings).

    >>> f = pd.DataFrame({"row": [5], "column": ["Typ"], "code": ["unknown_label"],
    ...                   "message": ["unknown label 'Cluster organsation' (expected one of: cluster organisation, SME)"]})
    >>> as_written(f, "vo_entity_type")
    {5: 'Cluster organsation'}
    """
    if findings is None or findings.empty:
        return {}
    mine = findings[(findings["code"] == "unknown_label").to_numpy(dtype=bool)
                    & findings["message"].str.contains(AS_WRITTEN_EXPECTED[column], regex=False).to_numpy(dtype=bool)]
    texts = mine["message"].str.extract(r"^unknown label '(.*)' \(expected", expand=False)
    return {int(r): t for r, t in zip(mine["row"], texts) if isinstance(t, str)}


def _mark_as_written(values: pd.Series, rows: pd.Series, typed: dict[int, str]) -> list:
    """Values in words, with a label nobody could read shown as written and marked."""
    marked = {r: Markup(f'<span class="as-written">{html.escape(t)}</span> <em>(as written)</em>')
              for r, t in typed.items()}
    return [marked.get(int(r), v) for r, v in zip(rows, values)]


def appendix_html(table: pd.DataFrame, findings: pd.DataFrame | None = None, limit: int | None = APPENDIX_LIMIT) -> str:
    """Every exchange, like the report's appendix, with its row in the tracker (the first ``limit``
    by row, and a sentence saying how many are left out and where they all are); a type or
    partnership the vocabulary does not know is shown as written, marked (given the findings)."""
    note = left_out_html(limit, len(table), "exchanges", "report.xlsx (sheet Exchanges) and data/exchanges.csv") \
        if limit is not None else ""
    frame = table.sort_values("source_row")
    if limit is not None:
        frame = frame.head(limit)
    out = pd.DataFrame({"Row": frame["source_row"]})
    for column, title in APPENDIX_COLUMNS.items():
        values = frame[column]
        if column in ("vo_entity_type", "partnership"):
            values = values.astype("object").map(SINGULAR.get, na_action="ignore")
            values = _mark_as_written(values, frame["source_row"], as_written(findings, column))
        out[title] = pd.Series(values, index=out.index, dtype=object) if isinstance(values, list) else values.to_numpy()
    out["Counted"] = (~frame["excluded"].fillna(False).astype(bool)).map({True: "yes", False: "no (error)"}).to_numpy()
    return note + html_table(out, numeric=("Row",), css="appendix")


def counts_html(counts: pd.DataFrame, first: str, top: int | None = TOP_LIMIT) -> str:
    """A crosstab as a table, with totals, for the figures behind a chart: the ``top`` largest
    rows and one "Other" row summing the rest, as the charts show them."""
    frame = counts.copy()
    frame.columns = [LABELS.get(str(c), str(c)) for c in frame.columns]
    frame["Total"] = frame.sum(axis=1)
    frame = frame.sort_values("Total", ascending=False, kind="stable")  # as the charts: largest first
    if top is not None and len(frame) > top:
        rest = frame.iloc[top:]
        other = rest.sum().to_frame(f"Other ({len(rest):,} more)").T
        frame = pd.concat([frame.iloc[:top], other])
    frame.index = [LABELS.get(str(i), str(i)) for i in frame.index]
    frame = frame.rename_axis(first).reset_index()
    return html_table(frame, numeric=tuple(frame.columns[1:]), css="counts")


def rules_html(summary: pd.DataFrame, results: pd.DataFrame, reasons: pd.DataFrame | None = None) -> str:
    """Counts per programme rule: pass, fail (and how many of those are only warnings), cannot
    check and why (``rules.RuleResults.reasons``: each reason with its count, beside the count),
    with what each rule checks; rules in plain words."""
    warned = results.loc[(results["outcome"] == "fail").to_numpy(dtype=bool)
                         & (results["severity"] == "warning").fillna(False).to_numpy(dtype=bool), "rule"]
    warnings = pd.Series(pd.Categorical(warned.astype(str), categories=list(summary.index))).value_counts()
    frame = pd.DataFrame({"Rule": [rule_words(r) for r in summary.index],
                          "What it checks": summary["description"].to_numpy(),
                          "Pass": summary["pass"].to_numpy(), "Fail": summary["fail"].to_numpy(),
                          "of which warnings": warnings.reindex(summary.index, fill_value=0).to_numpy(),
                          "Cannot check": summary["cannot_check"].to_numpy(),
                          "Why it cannot be checked": [why_text(reasons, r, n) for r, n in
                                                       zip(summary.index, summary["cannot_check"])]})
    return html_table(frame, numeric=("Pass", "Fail", "of which warnings", "Cannot check"), css="rules")


def why_text(reasons: pd.DataFrame | None, rule: str, count: int) -> str:
    """The reasons one rule could not be checked, each with how many exchanges: "19 visitor
    country unknown; 2 no amount"; "" when none; "reason not recorded" without ``reasons``.

    >>> why_text(pd.DataFrame({"rule": ["duration"], "reason": ["no end date"], "exchanges": [3]}), "duration", 3)
    '3 no end date'
    """
    if not count:
        return ""
    if reasons is None or reasons.empty:
        return "reason not recorded"
    mine = reasons[(reasons["rule"] == rule).to_numpy(dtype=bool)]
    return "; ".join(f"{int(n):,} {why}" for why, n in zip(mine["reason"], mine["exchanges"]))


def rule_failures_html(fails: pd.DataFrame, table: pd.DataFrame, limit: int | None = LISTING_LIMIT) -> str:
    """Each failing (or warning) rule result with the exchanges it concerns: identical results
    (same rule, verdict and details) on one line with their rows and visitors; the first ``limit``
    lines, with a sentence saying how many are left out and where they all are."""
    if fails.empty:
        return "<p>No exchange fails a rule that could be checked.</p>"
    names = table.set_index("source_row")[["host_org", "visiting_org"]]
    frame = fails.join(names, on="row")
    out = pd.DataFrame({"Rows": frame["row"].to_numpy(), "HO": frame["host_org"].to_numpy(),
                        "VO": frame["visiting_org"].to_numpy(),
                        "Rule": frame["rule"].astype(str).map(rule_words).to_numpy(),
                        "Result": frame["severity"].fillna(frame["outcome"].astype(str)).to_numpy(),
                        "Details": frame["message"].str.replace(r"^warning:\s*", "", regex=True).to_numpy()})
    grouped = out.groupby(["Rule", "Result", "Details"], sort=False, dropna=False).agg(
        Rows=("Rows", _some_rows), HO=("HO", _some_names), VO=("VO", _some_names)).reset_index()
    note = ""
    if limit is not None and len(grouped) > limit:
        note = left_out_html(limit, len(grouped), "lines of fails and warnings",
                             "report.xlsx (sheet Programme rules) and data/rules.parquet")
        grouped = grouped.head(limit)
    return note + html_table(grouped[["Rows", "HO", "VO", "Rule", "Result", "Details"]], css="findings")


CELL_ITEMS = 20  # rows or names one cell of a grouped line lists; the rest are counted


def _some_rows(rows) -> str:
    """``rows_text`` of the first ``CELL_ITEMS`` rows, and how many more there are.

    >>> _some_rows(range(4, 30))
    '4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 and 6 more'
    """
    rows = sorted(rows)
    more = f" and {len(rows) - CELL_ITEMS:,} more" if len(rows) > CELL_ITEMS else ""
    return rows_text(rows[:CELL_ITEMS]) + more


def _some_names(values: pd.Series) -> str:
    """The first ``CELL_ITEMS`` distinct names, joined by "; ", and how many more there are."""
    names = list(dict.fromkeys(str(v) for v in values if isinstance(v, str)))
    more = f" and {len(names) - CELL_ITEMS:,} more" if len(names) > CELL_ITEMS else ""
    return "; ".join(names[:CELL_ITEMS]) + more


# --- since the last report, will the targets be met, where, at what cost --------------------

SECTION_ROWS = 100  # longest list of exchanges a section shows; the rest are counted (all in data/exchanges.csv)


def _capped_table(frame: pd.DataFrame, numeric: tuple[str, ...] = ("Row",)) -> str:
    """A table of at most SECTION_ROWS rows, saying how many more there are."""
    more = len(frame) - SECTION_ROWS
    return (html_table(frame.head(SECTION_ROWS), numeric=numeric, css="findings")
            + (f'<p class="note">... and {plural(more, "more exchange")} (all in data/exchanges.csv).</p>'
               if more > 0 else ""))


def _exchange_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Exchanges as the section tables list them: row, HO, VO, event, status as written."""
    return pd.DataFrame({"Row": frame["source_row"].to_numpy(), "HO": frame["host_org"].to_numpy(),
                         "VO": frame["visiting_org"].to_numpy(), "(Group) exchange": frame["event"].to_numpy(),
                         "Status": frame["status_text"].to_numpy()})


def changes_html(changes: pd.DataFrame, earlier: str, now: str) -> str:
    """KPI table: completed earlier, now and the change."""
    frame = pd.DataFrame({"Indicator": [LABELS[k] for k in changes.index],
                          f"Earlier ({earlier})": changes["earlier"].to_numpy(),
                          f"Now ({now})": changes["now"].to_numpy(),
                          "Change": [f"{v:+d}" if v else "0" for v in changes["change"]]})
    return html_table(frame, numeric=tuple(frame.columns[1:]), css="kpi")


def comparison_html(previous: pd.DataFrame, current: pd.DataFrame, matches: pd.DataFrame) -> str:
    """Added, status-changed, gone (a finding) and uncertainly matched exchanges, each a table
    or one sentence."""

    parts = []
    new = added(current, matches)
    parts.append(f"<h3>Added since the earlier report: {len(new)}</h3>"
                 + (_capped_table(_exchange_rows(new)) if len(new) else ""))
    changed = status_changes(previous, current, matches)
    frame = pd.DataFrame({"Earlier row": changed["previous_row"], "Row": changed["row"], "HO": changed["host_org"],
                          "VO": changed["visiting_org"], "Was": changed["was_text"], "Now": changed["now_text"]})
    parts.append(f"<h3>Status changed: {len(changed)}</h3>"
                 + (_capped_table(frame, ("Earlier row", "Row")) if len(changed) else ""))
    lost = gone(previous, matches)
    parts.append(f"<h3>Gone from the tracker: {len(lost)}</h3>" + (
        '<p class="finding">These exchanges were in the earlier tracker and are not in this one (rows of the '
        'earlier tracker). Check whether they were removed on purpose: data is never dropped silently.</p>'
        + _capped_table(_exchange_rows(lost)) if len(lost) else ""))
    unsure = uncertain(matches)
    if len(unsure):
        frame = pd.DataFrame({"Earlier row": unsure["previous_row"], "Row": unsure["row"], "Why uncertain": unsure["note"]})
        parts.append(f"<h3>Matched, but not certainly: {len(unsure)}</h3>"
                     "<p>Taken as the same exchange in the figures above; please check.</p>"
                     + _capped_table(frame, ("Earlier row", "Row")))
    return "".join(parts)


def gone_html(lost: pd.DataFrame) -> str:
    """The Data quality line for exchanges gone since the earlier tracker ('' when none)."""
    if lost.empty:
        return ""
    return (f'<p class="finding"><strong>Warning:</strong> {plural(len(lost), "exchange")} of the earlier tracker '
            f'{"is" if len(lost) == 1 else "are"} gone from this one (earlier rows {html.escape(rows_text(lost["source_row"]))}'
            '): see Since the last report.</p>')


def no_previous_html() -> str:
    """The one line shown when no earlier report was given."""
    return ('<p class="note">No earlier tracker given: run with <code>--previous</code> (an earlier tracker or '
            'report folder) to see what changed.</p>')


def projection_html(projection: pd.DataFrame, total: int, start=None) -> str:
    """Per KPI: completed, pace a month, projected at the end, target and what that means."""

    frame = pd.DataFrame({"Indicator": [LABELS[k] for k in projection.index],
                          "Completed": projection["actual"].astype(int).to_numpy(),
                          "Per month so far": [f"{p:.1f}" for p in projection["pace"]],
                          f"Projected at M{total}": [f"{p:.0f}" for p in projection["projected"]],
                          "Target": projection["target"].astype("Float64").round().astype("Int64").to_numpy(),
                          "At this pace": [verdict(r, total, start) for _, r in projection.iterrows()]})
    table = html_table(frame, numeric=("Completed", "Per month so far", f"Projected at M{total}", "Target"),
                       css="counts projection")
    return f'<div class="keep-together">{table}</div>'  # seven rows: never split over two pages


def too_little_html(reason: str) -> str:
    """Said plainly when there is too little to project."""
    return f'<p class="note">Too little to project: {html.escape(reason)}.</p>'


def flows_html(flows: pd.DataFrame) -> str:
    """Host country (rows) x visitor country (columns), with totals."""

    frame = flows.copy()
    frame["Total"] = frame.sum(axis=1)
    frame.columns = [country_label(c) if c != "Total" else c for c in frame.columns]
    frame.index = [country_label(c) for c in frame.index]
    frame = frame.rename_axis("Host \\ visitor").reset_index()
    return html_table(frame, numeric=tuple(frame.columns[1:]), css="counts flows")


def per_country_html(counts: pd.DataFrame) -> str:
    """Exchanges per country as host and as visitor."""

    frame = pd.DataFrame({"Country": [country_label(c) for c in counts.index], "As host": counts["host"].to_numpy(),
                          "As visitor": counts["visitor"].to_numpy(), "Total": counts["total"].to_numpy()})
    return html_table(frame, numeric=("As host", "As visitor", "Total"), css="counts")


def euros(value: float) -> str:
    """An amount as the report shows it.

    >>> euros(1650), euros(12345.5)
    ('€1,650', '€12,345.50')
    """
    return f"€{value:,.0f}" if float(value).is_integer() else f"€{value:,.2f}"


def spending_html(spent: dict[str, pd.DataFrame], table: pd.DataFrame, budget: float | None = None) -> str:
    """Total support paid, per type of visitor, per event and by lump sum; one line when the
    tracker has no amounts."""
    total = spent["total"].iloc[0]
    if not total["exchanges"]:
        return '<p class="note">The tracker has no amounts: nothing to say about the support paid.</p>'
    usable_rows = int((~table["excluded"].fillna(False).astype(bool)).sum())
    missing = usable_rows - int(total["exchanges"])
    text = (f"<p>Support paid: <strong>{euros(total['eur'])}</strong> for {plural(int(total['exchanges']), 'exchange')}"
            + (f" ({plural(missing, 'exchange')} without an amount not included)" if missing else "")
            + (f", {percent(total['eur'], budget)} of the {euros(budget)} budget for support to third parties"
               if budget else "") + ".</p>")

    def table_of(frame: pd.DataFrame, first: str) -> str:
        out = pd.DataFrame({first: frame.index, "Exchanges": frame["exchanges"].to_numpy(),
                            "Paid": [euros(v) for v in frame["eur"]]})
        return html_table(out, numeric=("Exchanges", "Paid"), css="counts")

    events = spent["by_event"]
    if len(events) > 15:  # the 15 costliest, the rest summed
        rest = events.iloc[15:].sum().to_frame(f"Other events ({len(events) - 15})").T
        events = pd.concat([events.iloc[:15], rest])
    return (text + "<h3>By type of visiting organisation</h3>" + table_of(spent["by_type"], "Type of entity")
            + "<h3>By event</h3>" + table_of(events, "Event")
            + "<h3>Full and halved lump sums</h3>"
            + "<p>As the programme rules decide it, row by row the same as the maximum-support rule: halved "
              "where the stay is under the full number of working days or host and visitor are closer than the "
              "minimum distance; <em>cannot tell</em> where neither halves it and the dates or the distance are "
              "not known, with what is missing.</p>"
            + table_of(spent["by_lump_sum"], "Lump sum"))


LIMIT_WORDS = {"countries": "countries", "country list": "country list", "min_km": "minimum distance (km)",
               "shortfall": "closer than the minimum", "min_working_days": "fewest working days",
               "full_lump_sum_working_days": "working days for the full lump sum", "max_months": "longest stay (months)",
               "visits_per_generation": "visits per organisation", "visitor_types": "visitors",
               "host_types": "hosts", "limits": "SME limits", "max_eur": "most support per visitor (EUR)"}
SHORTFALL_WORDS = {"halve": "the lump sum is halved", "fail": "the exchange fails"}


def period_html(rule_set, table: pd.DataFrame | None = None) -> str:
    """The years the rule set's generation covers, and a note when exchanges start outside them
    (they were checked against this rule set all the same); "" when the rule set gives no period.

    >>> from cxc_analysis.rules.checks import read_rule_set
    >>> t = pd.DataFrame({"start_date": pd.to_datetime(["2023-05-01", "2025-02-03", None])})
    >>> "1 exchange starts outside" in period_html(read_rule_set(), t)
    True
    """
    if not rule_set.period or table is None or "start_date" not in table:
        return ""
    first, last = rule_set.period
    years = pd.to_datetime(table["start_date"], errors="coerce").dt.year
    outside = years.notna() & ((years < first) | (years > last))
    if not outside.any():
        return ""
    count = int(outside.sum())
    seen = ", ".join(str(y) for y in sorted(int(y) for y in years[outside].unique()))
    text = (f"Note: the rule set is for exchanges of {first} to {last}; {plural(count, 'exchange')} "
            f"{'starts' if count == 1 else 'start'} outside it (in {seen}) and {'was' if count == 1 else 'were'} "
            "checked against it all the same. The rule set of their generation can be given with --rules.")
    return f'<p class="note">{html.escape(text)}</p>'


def rule_set_html(rule_set) -> str:
    """Which rule set the programme rules were checked against, its period (``period_html``
    notes exchanges outside it), and every limit with its sources (numbered, listed
    in full below the table; a source named in a note by its key is shown by its number) and,
    where sources disagree, what the others say and which one was applied.

    >>> from cxc_analysis.rules.checks import read_rule_set
    >>> page = rule_set_html(read_rule_set())
    >>> "clusterxchange_cosme.yaml" in page and 'ol class="sources"' in page
    True
    """
    import re


    limits = limits_table(rule_set)
    numbers: dict[str, int] = {}
    for keys in limits["source_keys"]:
        for key in keys:
            numbers.setdefault(key, len(numbers) + 1)
    for key in rule_set.period_sources:
        numbers.setdefault(key, len(numbers) + 1)
    keys = sorted((k for k in rule_set.sources if not k.isalpha()), key=len, reverse=True)  # d51_slides, not "call"
    keyword = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b") if keys else None

    def numbered(note: str) -> str:
        """A note with every source key in it shown as the source's number."""
        if keyword is None:
            return note
        return keyword.sub(lambda m: f"[{numbers.setdefault(m.group(1), len(numbers) + 1)}]", note)

    notes = limits["note"].map(numbered)
    refs = limits["source_keys"].map(lambda keys: ", ".join(f"[{numbers[k]}]" for k in dict.fromkeys(keys)))
    values = [_country_summary(rule_set) if (r, lim) == ("eligible_country", "country list")
              else SHORTFALL_WORDS.get(v, v) if lim == "shortfall" else v
              for r, lim, v in zip(limits["rule"], limits["limit"], limits["value"])]
    frame = pd.DataFrame({"Rule": limits["rule"].map(rule_words),
                          "Limit": limits["limit"].map(lambda v: LIMIT_WORDS.get(v, v)) + ": "
                          + pd.Series(values, index=limits.index),
                          "Sources": refs, "Notes, and where sources disagree": notes})
    sources = "".join(f"<li value=\"{n}\">{html.escape(' '.join(str(rule_set.sources[k]).split()))}</li>"
                      for k, n in numbers.items())
    period = ""
    if rule_set.period:
        cited = ", ".join(f"[{numbers[k]}]" for k in rule_set.period_sources)
        period = f'<p class="source">Period: exchanges of {rule_set.period[0]} to {rule_set.period[1]} {cited}</p>'
    return (f'<p class="source">Rule set: {html.escape(rule_set.name)} (file {html.escape(rule_set.path.name)})</p>'
            + period
            + html_table(frame, css="rules", cell_chars=None)
            + f'<p class="source">Sources:</p><ol class="sources">{sources}</ol>')


def _country_summary(rule_set) -> str:
    """The programme countries in a line: codes, with the joining date only where it differs
    from the most common one (the generation's start)."""
    dates = [d for d in rule_set.countries.values() if d]
    usual = max(set(dates), key=dates.count) if dates else None
    codes = [f"{c} (from {d:%Y-%m-%d})" if d and d != usual else c if d else f"{c}*"
             for c, d in rule_set.countries.items()]
    since = f"; the others from {usual:%Y-%m-%d}" if usual else ""
    unknown = ("; * joined before this generation's exchanges began, date not in the sources"
               if any(d is None for d in rule_set.countries.values()) else "")
    return f"{len(codes)} countries: {', '.join(codes)}{since}{unknown}"
