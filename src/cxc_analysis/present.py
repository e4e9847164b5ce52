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
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(str(c))}</th>' for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(f'<td class="{"num" if c in numeric else ""}">{_cell(v)}</td>'
                        for c, v in zip(frame.columns, row))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="data {css}">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _cell(value) -> str:
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


def headline_html(kpis: pd.DataFrame, partnership: str, period: str) -> str:
    """One paragraph saying where the partnership stands, in plain words."""
    row = kpis.loc["exchanges"]
    target = row["target"]
    of_target = (f" of the {int(target)} in the grant agreement ({percent(row['actual'], target)})"
                 if pd.notna(target) and target else "")
    pending = f", and {int(row['pending'])} more are under way but not yet completed" if row["pending"] else ""
    met = [LABELS[k].lower() for k in kpis.index
           if k != "exchanges" and pd.notna(kpis.loc[k, "target"]) and kpis.loc[k, "actual"] >= kpis.loc[k, "target"]]
    met_text = f" The target for {', '.join(met)} is already met." if met else ""
    return (f"<p class=\"headline\">At {html.escape(period)}, {html.escape(partnership)} has completed "
            f"<strong>{int(row['actual'])}</strong> exchanges{of_target}{pending}.{html.escape(met_text)}</p>")


def findings_summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings counted by severity and code, as a small table."""
    if findings.empty:
        return pd.DataFrame({"Severity": [], "Problem": [], "Rows": []})
    counts = findings.groupby(["severity", "code"]).size().rename("Rows").reset_index()
    return counts.rename(columns={"severity": "Severity", "code": "Problem"})


def findings_html(findings: pd.DataFrame) -> str:
    """Every finding with its Excel row; a sentence when there are none."""
    if findings.empty:
        return "<p>No problems found: every row was usable.</p>"
    frame = findings.rename(columns={"row": "Row", "column": "Column", "severity": "Severity",
                                     "code": "Problem", "message": "Details"})
    return html_table(frame, numeric=("Row",), css="findings")


def appendix_html(table: pd.DataFrame) -> str:
    """Every exchange, like the report's appendix, with its row in the tracker."""
    frame = table.sort_values("source_row")
    out = pd.DataFrame({"Row": frame["source_row"]})
    for column, title in APPENDIX_COLUMNS.items():
        values = frame[column]
        if column in ("vo_entity_type", "partnership"):
            values = values.astype("object").map(SINGULAR.get, na_action="ignore")
        out[title] = values.to_numpy()
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
    """Each failing (or warning) rule result with the exchange it concerns."""
    if fails.empty:
        return "<p>No exchange fails a rule that could be checked.</p>"
    names = table.set_index("source_row")[["host_org", "visiting_org"]]
    frame = fails.join(names, on="row")
    verdict = frame["severity"].fillna(frame["outcome"].astype(str)).to_numpy()
    out = pd.DataFrame({"Row": frame["row"].to_numpy(), "HO": frame["host_org"].to_numpy(),
                        "VO": frame["visiting_org"].to_numpy(), "Rule": frame["rule"].astype(str).to_numpy(),
                        "Result": verdict,
                        "Details": frame["message"].str.replace(r"^warning:\s*", "", regex=True).to_numpy()})
    return html_table(out, numeric=("Row",), css="findings")


def rule_set_html(rule_set) -> str:
    """Which rule set the programme rules were checked against, and every limit with its source
    (and, where sources disagree, what the others say and which one was applied).

    >>> from cxc_analysis.rules import read_rule_set
    >>> "clusterxchange_cosme.yaml" in rule_set_html(read_rule_set())
    True
    """
    from .rules import limits_table

    limits = limits_table(rule_set)
    frame = pd.DataFrame({"Rule": limits["rule"], "Limit": limits["limit"] + ": " + limits["value"],
                          "Source": limits["source"], "Notes, and where sources disagree": limits["note"]})
    return (f'<p class="source">Rule set: {html.escape(rule_set.name)} (file {html.escape(rule_set.path.name)})</p>'
            + html_table(frame, css="rules"))
