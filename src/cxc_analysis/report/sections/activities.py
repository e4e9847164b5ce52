"""The "Promotion activities" section: the promotion log as a table, counts by kind, the
participants reached, a chart by month and kind, and the activity figures beside the exchange
KPIs in "Significant results". Every cell from the log is escaped; links only http(s)/mailto.
"""

from __future__ import annotations

import html

import pandas as pd

from cxc_analysis.report.sections.narrative import safe_link
from cxc_analysis.report.sections.present import findings_html
from cxc_analysis.table.activities import KIND_LABELS, KINDS

ACTIVITY_TARGET_KEYS = ("activities", "participants", *KINDS)
ACTIVITIES_HEADING = "Promotion activities"
KIND_ORDER = (*KINDS, "unknown")


def kind_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per kind (those present, in a fixed order): activities, activities with a head count, participants.

    >>> t = pd.DataFrame({"kind": ["video", "online", "video"], "participants": pd.array([None, 5, 3], dtype="Int64")})
    >>> kind_counts(t).to_dict("records")
    [{'kind': 'online', 'activities': 1, 'with_head_count': 1, 'participants': 5}, {'kind': 'video', 'activities': 2, 'with_head_count': 1, 'participants': 3}]
    """
    grouped = table.groupby("kind", sort=False).agg(activities=("kind", "size"),
                                                     with_head_count=("participants", "count"),
                                                     participants=("participants", "sum"))
    order = [k for k in KIND_ORDER if k in grouped.index]
    out = grouped.reindex(order).reset_index()
    return out.astype({"activities": "int64", "with_head_count": "int64", "participants": "int64"})


def reach(table: pd.DataFrame) -> dict[str, int]:
    """Activities, participants reached (the sum of known head counts), activities without one, undated ones."""
    return {"activities": len(table), "participants": int(table["participants"].sum()),
            "without_head_count": int(table["participants"].isna().sum()),
            "undated": int(table["month"].isna().sum())}


def activity_figures(table: pd.DataFrame) -> dict[str, int]:
    """The activity figures "Significant results" shows: totals and activities per kind."""
    figures = {"activities": len(table), "participants": int(table["participants"].sum())}
    figures.update({kind: int((table["kind"] == kind).sum()) for kind in KINDS})
    return figures


def _link(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value)
    if safe_link(text):
        return f'<a href="{html.escape(text, quote=True)}">{html.escape(text)}</a>'
    return html.escape(text)


def _text(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def log_html(table: pd.DataFrame) -> str:
    """The log as a table in date order, undated activities last (never dropped)."""
    ordered = table.assign(_undated=table["month"].isna()).sort_values(["_undated", "month", "date", "source_row"],
                                                                       kind="stable")
    numeric = ' class="num"'
    head = "".join(f'<th scope="col"{numeric if c in ("Row", "Participants") else ""}>{c}</th>'
                   for c in ("Row", "Date", "Activity", "Kind", "Place", "Participants", "Partner", "Link"))
    body = []
    for row in ordered.itertuples(index=False):
        count = ("" if pd.isna(row.participants) else f"{int(row.participants):,}")
        if pd.isna(row.participants) and row.participants_text is not None and not pd.isna(row.participants_text):
            count = f"unknown ({_text(row.participants_text)})"
        kind = KIND_LABELS.get(row.kind, row.kind)
        if row.kind == "unknown" and row.kind_text is not None and not pd.isna(row.kind_text):
            kind = f"{kind}: {row.kind_text}"
        body.append(f'<tr><td class="num">{row.source_row}</td><td>{_text(row.date_shown)}</td>'
                    f"<td>{_text(row.activity)}</td><td>{html.escape(kind)}</td><td>{_text(row.place)}</td>"
                    f'<td class="num">{count}</td><td>{_text(row.partner)}</td><td class="link">{_link(row.link)}</td></tr>')
    widths = "".join(f'<col style="width: {w}%">' for w in (5, 11, 23, 12, 8, 13, 10, 18))
    return (f'<table class="data activities"><colgroup>{widths}</colgroup><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def counts_html(table: pd.DataFrame) -> str:
    """Activities and participants per kind, with the total."""
    counts = kind_counts(table)
    rows = "".join(f"<tr><td>{html.escape(KIND_LABELS.get(r.kind, r.kind))}</td><td class=\"num\">{r.activities}</td>"
                   f"<td class=\"num\">{r.with_head_count}</td><td class=\"num\">{r.participants:,}</td></tr>"
                   for r in counts.itertuples(index=False))
    total = reach(table)
    rows += (f'<tr class="total"><th scope="row">Total</th><td class="num">{total["activities"]}</td>'
             f'<td class="num">{total["activities"] - total["without_head_count"]}</td>'
             f'<td class="num">{total["participants"]:,}</td></tr>')
    return ('<table class="data"><thead><tr><th scope="col">Kind</th><th scope="col" class="num">Activities</th>'
            '<th scope="col" class="num">With a head count</th><th scope="col" class="num">Participants</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def reach_sentence(table: pd.DataFrame) -> str:
    """One sentence: activities, participants reached, how many have no head count, how many are undated."""
    r = reach(table)
    words = (f"{r['activities']} promotion {'activity' if r['activities'] == 1 else 'activities'} reached "
             f"{r['participants']:,} participants (the total of the known head counts)")
    missing = r["without_head_count"]
    if missing:
        words += f"; {missing} {'activity has' if missing == 1 else 'activities have'} no head count"
    if r["undated"]:
        words += f"; {r['undated']} {'is' if r['undated'] == 1 else 'are'} undated"
    return f'<p class="headline">{html.escape(words)}.</p>'


def activity_chart(table: pd.DataFrame):
    """Activities per month, stacked by kind (undated activities are said in the title); None if none is dated."""
    import matplotlib

    from cxc_analysis.report.sections.charts import BLUE, GREEN, GREY, ORANGE, PINK, SKY, STYLE, VERMILION, WIDTH

    dated = table[table["month"].notna()]
    if dated.empty:
        return None
    colours = dict(zip(KIND_ORDER, (SKY, ORANGE, BLUE, VERMILION, GREEN, GREY, PINK)))
    hatches = dict(zip(KIND_ORDER, ("", "//", "", "xx", "..", "++", "oo")))
    months = pd.period_range(dated["month"].min(), dated["month"].max(), freq="M")
    counts = pd.crosstab(dated["month"].dt.to_period("M"), dated["kind"]).reindex(months, fill_value=0)
    counts = counts[[k for k in KIND_ORDER if k in counts.columns]]
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context({**STYLE, "axes.grid.axis": "y"}):
        fig = Figure(figsize=(WIDTH, 2.8), layout="constrained")
        ax = fig.subplots()
        bottom = pd.Series(0, index=counts.index)
        labels = [p.strftime("%b %Y") for p in counts.index]
        for kind in counts.columns:
            ax.bar(labels, counts[kind].to_numpy(), bottom=bottom.to_numpy(), color=colours[kind],
                   hatch=hatches[kind], edgecolor="white", label=KIND_LABELS[kind])
            bottom = bottom + counts[kind]
        undated = int(table["month"].isna().sum())
        ax.set_title("Promotion activities per month" + (f" ({undated} undated not shown)" if undated else ""))
        ax.set_ylabel("Activities")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(axis="x", labelrotation=45 if len(labels) > 8 else 0, labelsize=7)
        ax.legend(loc="upper left", fontsize=7, ncols=min(len(counts.columns), 4))
        ax.set_ylim(0, max(1, int(bottom.max())) * 1.35)
    fig.alt_text = ("Chart: promotion activities per month: " + "; ".join(
        f"{label}: " + ", ".join(f"{int(n)} {KIND_LABELS[k].lower()}" for k, n in row.items() if n)
        for label, (_, row) in zip(labels, counts.iterrows()) if row.sum())
        + (f"; {undated} undated, not shown" if undated else ""))
    return fig


def activities_html(table: pd.DataFrame, findings: pd.DataFrame, anchor: str = "promotion-activities") -> str:
    """The whole section: heading, sentence, counts by kind, chart, the log, the log's findings."""
    from cxc_analysis.report.export import svg_data_uri
    from cxc_analysis.report.sections.charts import svg_text

    parts = [f'<h2 id="{anchor}">{ACTIVITIES_HEADING}</h2>', reach_sentence(table), counts_html(table)]
    fig = activity_chart(table)
    if fig is not None:
        parts.append(f'<figure class="chart"><img alt="{html.escape(fig.alt_text, quote=True)}" '
                     f'src="{svg_data_uri(svg_text(fig))}"></figure>')
    parts += ["<h3>Promotion and dissemination log</h3>", log_html(table)]
    if len(findings):
        parts += ["<p>Entries of the log that could not be read with certainty (rows as in the log):</p>",
                  findings_html(findings)]
    return "\n".join(parts)


def results_html(table: pd.DataFrame, targets: dict[str, int] | None, anchor: str = "promotion-in-numbers") -> str:
    """The activity figures for "Significant results", against ``activity_targets`` when given."""
    figures = activity_figures(table)
    targets = targets or {}
    labels = {"activities": "Promotion activities", "participants": "Participants reached (known head counts)",
              **{k: f"{KIND_LABELS[k]} activities" for k in KINDS}}
    shown = [k for k in ACTIVITY_TARGET_KEYS if k in ("activities", "participants") or figures[k] or k in targets]
    rows = []
    for name in shown:
        cells = f"<td>{labels[name]}</td><td class=\"num\">{figures[name]:,}</td>"
        if targets:
            target = targets.get(name)
            share = f"{figures[name] / target:.0%}" if target else ""
            cells += f"<td class=\"num\">{'' if target is None else f'{target:,}'}</td><td class=\"num\">{share}</td>"
        rows.append(f"<tr>{cells}</tr>")
    head = '<th scope="col">Activity figure</th><th scope="col" class="num">Result</th>'
    if targets:
        head += '<th scope="col" class="num">Target</th><th scope="col" class="num">% of target</th>'
    else:
        rows.append('<tr><td colspan="2" class="note">No activity targets given (activity_targets in the '
                    "deliverable file).</td></tr>")
    return (f'<h3 id="{anchor}">Promotion and dissemination</h3>'
            f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def activities_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The log as the workbook shows it: the row, the date read (or undated), and the cells as written."""
    return pd.DataFrame({
        "Row": table["source_row"], "Date": table["date_shown"], "Activity": table["activity"],
        "Kind": table["kind"].map(KIND_LABELS), "Kind as written": table["kind_text"], "Place": table["place"],
        "Participants": table["participants"], "Participants as written": table["participants_text"].map(
            lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)),
        "Link": table["link"], "Partner": table["partner"]})
