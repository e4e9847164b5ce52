"""What the notebooks show: reviewer-facing tables as escaped HTML, headline sentences.

Names in the data (organisations, events) are data: every cell is HTML-escaped, so a name
like ``<script>`` shows as text. Knows nothing of files or papermill.
"""

from __future__ import annotations

import html

import pandas as pd

from .kpis import kpi_display
from .schema import LABELS, SINGULAR, percent

APPENDIX_COLUMNS = {"exchange_id": "Exchange no.", "host_org": "HO", "visiting_org": "VO",
                    "vo_entity_type": "VO type of entity", "partnership": "Inside/outside partnership",
                    "event": "(Group) exchange", "status_text": "Status", "remarks": "Remarks"}


def html_table(df: pd.DataFrame, *, index: bool = False, numeric: tuple[str, ...] = (), css: str = "",
               caption: str | None = None) -> str:
    """An HTML table with every cell escaped; ``numeric`` columns right-aligned.

    >>> "&lt;b&gt;" in html_table(pd.DataFrame({"VO": ["<b>"]}))
    True
    """
    frame = df.reset_index() if index else df
    head = "".join(f'<th scope="col" class="{"num" if c in numeric else ""}">{html.escape(str(c))}</th>'
                   for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(f'<td class="{"num" if c in numeric else ""}">{_cell(v)}</td>'
                        for c, v in zip(frame.columns, row))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="data {css}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


class Markup(str):
    """Text that is already safe HTML (built here from escaped parts): shown as it is."""


def _cell(value) -> str:
    if isinstance(value, Markup):
        return str(value)
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return '<span class="na">–</span>'
    if isinstance(value, float):
        return f"{value:.1f}"
    return html.escape(str(value))


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


def findings_html(findings: pd.DataFrame) -> str:
    """Every finding with its Excel row (identical ones on one line); a sentence when there are none."""
    if findings.empty:
        return "<p>No problems found: every row was usable.</p>"
    frame = group_findings(findings).rename(columns={"row": "Rows", "column": "Column", "severity": "Severity",
                                                     "code": "Problem", "message": "Details"})
    return html_table(frame, css="findings")


AS_WRITTEN_COLUMNS = {"vo_entity_type": "VO Type of entity", "partnership": "Inside/outside partnership"}


def as_written(findings: pd.DataFrame | None, column: str) -> dict[int, str]:
    """The labels a person typed that the vocabulary did not know, by row (from the findings).

    >>> f = pd.DataFrame({"row": [5], "column": ["VO Type of entity"], "code": ["unknown_label"],
    ...                   "message": ["unknown label 'Cluster organsation' (expected one of: ...)"]})
    >>> as_written(f, "vo_entity_type")
    {5: 'Cluster organsation'}
    """
    if findings is None or findings.empty:
        return {}
    mine = findings[(findings["code"] == "unknown_label") & (findings["column"] == AS_WRITTEN_COLUMNS[column])]
    texts = mine["message"].str.extract(r"^unknown label '(.*)' \(expected", expand=False)
    return {int(r): t for r, t in zip(mine["row"], texts) if isinstance(t, str)}


def _mark_as_written(values: pd.Series, rows: pd.Series, typed: dict[int, str]) -> list:
    """Values in words, with a label nobody could read shown as written and marked."""
    marked = {r: Markup(f'<span class="as-written">{html.escape(t)}</span> <em>(as written)</em>')
              for r, t in typed.items()}
    return [marked.get(int(r), v) for r, v in zip(rows, values)]


def appendix_html(table: pd.DataFrame, findings: pd.DataFrame | None = None) -> str:
    """Every exchange, like the report's appendix, with its row in the tracker; a type or
    partnership the vocabulary does not know is shown as written, marked (given the findings)."""
    frame = table.sort_values("source_row")
    out = pd.DataFrame({"Row": frame["source_row"]})
    for column, title in APPENDIX_COLUMNS.items():
        values = frame[column]
        if column in ("vo_entity_type", "partnership"):
            values = values.astype("object").map(SINGULAR.get, na_action="ignore")
            values = _mark_as_written(values, frame["source_row"], as_written(findings, column))
        out[title] = pd.Series(values, index=out.index, dtype=object) if isinstance(values, list) else values.to_numpy()
    out["Counted"] = (~frame["excluded"].fillna(False).astype(bool)).map({True: "yes", False: "no (error)"}).to_numpy()
    return html_table(out, numeric=("Row",), css="appendix")


def counts_html(counts: pd.DataFrame, first: str) -> str:
    """A crosstab as a table, with totals, for the figures behind a chart."""
    frame = counts.copy()
    frame.columns = [LABELS.get(str(c), str(c)) for c in frame.columns]
    frame["Total"] = frame.sum(axis=1)
    frame = frame.sort_values("Total", ascending=False, kind="stable")  # as the charts: largest first
    frame.index = [LABELS.get(str(i), str(i)) for i in frame.index]
    frame = frame.rename_axis(first).reset_index()
    return html_table(frame, numeric=tuple(frame.columns[1:]), css="counts")


def rules_html(summary: pd.DataFrame, results: pd.DataFrame) -> str:
    """Counts per programme rule: pass, fail (and how many of those are only warnings), cannot
    check, with what each rule checks."""
    warned = results.loc[(results["outcome"] == "fail").to_numpy(dtype=bool)
                         & (results["severity"] == "warning").fillna(False).to_numpy(dtype=bool), "rule"]
    warnings = pd.Series(pd.Categorical(warned.astype(str), categories=list(summary.index))).value_counts()
    frame = pd.DataFrame({"Rule": summary.index, "What it checks": summary["description"].to_numpy(),
                          "Pass": summary["pass"].to_numpy(), "Fail": summary["fail"].to_numpy(),
                          "of which warnings": warnings.reindex(summary.index, fill_value=0).to_numpy(),
                          "Cannot check": summary["cannot_check"].to_numpy()})
    return html_table(frame, numeric=("Pass", "Fail", "of which warnings", "Cannot check"), css="rules")


def rule_failures_html(fails: pd.DataFrame, table: pd.DataFrame) -> str:
    """Each failing (or warning) rule result with the exchanges it concerns: identical results
    (same rule, verdict and details) on one line with their rows and visitors."""
    if fails.empty:
        return "<p>No exchange fails a rule that could be checked.</p>"
    names = table.set_index("source_row")[["host_org", "visiting_org"]]
    frame = fails.join(names, on="row")
    out = pd.DataFrame({"Rows": frame["row"].to_numpy(), "HO": frame["host_org"].to_numpy(),
                        "VO": frame["visiting_org"].to_numpy(), "Rule": frame["rule"].astype(str).to_numpy(),
                        "Result": frame["severity"].fillna(frame["outcome"].astype(str)).to_numpy(),
                        "Details": frame["message"].str.replace(r"^warning:\s*", "", regex=True).to_numpy()})
    grouped = out.groupby(["Rule", "Result", "Details"], sort=False, dropna=False).agg(
        Rows=("Rows", rows_text), HO=("HO", _distinct_text), VO=("VO", _distinct_text)).reset_index()
    return html_table(grouped[["Rows", "HO", "VO", "Rule", "Result", "Details"]], css="findings")


def _distinct_text(values: pd.Series) -> str:
    """The distinct names of a group, in order, separated by semicolons."""
    return "; ".join(dict.fromkeys(str(v) for v in values if isinstance(v, str)))
