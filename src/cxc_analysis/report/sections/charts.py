"""One function a chart, each returning a matplotlib Figure; no files, no global state.

One style for all: the Okabe-Ito colour-blind-safe palette, hatching where colours alone
would carry meaning, plain-word titles and axis labels, sized for an A4 page. Figures are
built with the object API (no pyplot), so nothing is shown or kept behind the caller's back;
the style applies inside each chart function only (``matplotlib.rc_context``), never to the
caller's matplotlib. Names from the data are drawn as written: ``$...$`` is never read as TeX.
"""

from __future__ import annotations

import functools

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cxc_analysis.core.schema import ENTITY_TYPES, KPI_NAMES, LABELS, percent
from cxc_analysis.kpis import status_counts as kpi_status_counts
from cxc_analysis.kpis import usable

# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, PINK, SKY, VERMILION, YELLOW, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
# Three more from Paul Tol's colour-blind-safe schemes, so that no colour means two things.
INDIGO, WINE, TEAL, PALE_GREY = "#332288", "#882255", "#44AA99", "#DDDDDD"
# One colour and hatch per meaning, in every chart (hatching keeps them apart in greyscale).
MEANINGS = {
    "completed": (BLUE, ""), "pending": (ORANGE, "//"), "cancelled": ("#999933", "**"),  # Tol's olive
    "cluster_organisation": (GREEN, ""), "sme": (PINK, ".."), "scaling_up_support_organisation": (SKY, "xx"),
    "large_company": (YELLOW, "\\\\"), "public_authority": (GREY, "++"),
    "inside": (INDIGO, ""), "outside": (VERMILION, "||"),
    "it_tool_used": (TEAL, ""), "it_tool_not_used": (WINE, "--"), "not_recorded": (PALE_GREY, "oo"),
}
COMPLETED, PENDING, TARGET = BLUE, ORANGE, "#000000"
ENTITY_COLOURS = {kind: MEANINGS[kind][0] for kind in ENTITY_TYPES}
ENTITY_HATCHES = {kind: MEANINGS[kind][1] for kind in ENTITY_TYPES}
WIDTH = 7.5  # inches: the text width of an A4 page with 2 cm margins

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "grid.color": "#dddddd",
    "axes.axisbelow": True,
    "legend.frameon": False,
    "svg.fonttype": "none",  # text stays text: sharp, searchable in the PDF
    "svg.hashsalt": "cxc-analysis",  # the same data gives the same SVG
}


SAVE_STYLE = ("svg.fonttype", "svg.hashsalt")  # read when a figure is saved, not when it is drawn


def styled(chart):
    """Build a chart inside the house style, leaving matplotlib's global settings as they were.
    Settings read only when a figure is saved (``SAVE_STYLE``) are set by ``show_as_svg``."""

    @functools.wraps(chart)
    def build(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return chart(*args, **kwargs)

    return build


def _figure(height: float, ncols: int = 1, width_ratios=None) -> tuple[Figure, list]:
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, width_ratios=width_ratios)[0].tolist()
    return fig, axes


def _entity_labels(index) -> list[str]:
    return [LABELS.get(str(i), str(i)) for i in index]


def _status_counts(table: pd.DataFrame, by: str, order) -> pd.DataFrame:
    rows = usable(table)
    counts = pd.crosstab(pd.Categorical(rows[by], categories=list(order)),
                         pd.Categorical(rows["status"].astype("object"), categories=["completed", "pending"]), dropna=False)
    return counts.reindex(index=list(order), columns=["completed", "pending"], fill_value=0)


def _label_bars(ax, totals) -> None:
    for y, total in enumerate(totals):
        if total:
            _note(ax, total, y, f"{int(total)}")


def _note(ax, x, y, text: str) -> None:
    ax.annotate(text, (x, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)


def _whole_numbers(*axes, axis: str = "x") -> None:
    """Counts get whole-number ticks (never 2.5 exchanges)."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))


def _describe(fig: Figure, text: str) -> Figure:
    """Attach the chart's text alternative (its figures in words) for HTML alt text and the tagged PDF."""
    fig.alt_text = text
    return fig


def _counts_text(counts: pd.DataFrame) -> str:
    """'Label: 3 completed, 1 pending' per row of a completed/pending crosstab."""
    return "; ".join(f"{LABELS.get(str(i), str(i))}: {int(r['completed'])} completed, {int(r['pending'])} pending"
                     for i, r in counts.iterrows())


def alt_text(fig: Figure) -> str:
    """The text alternative a chart function attached, or its titles if it has none.

    >>> alt_text(_describe(Figure(), "Chart: 3 exchanges"))
    'Chart: 3 exchanges'
    """
    return getattr(fig, "alt_text", "") or "Chart: " + "; ".join(ax.get_title(loc="left") for ax in fig.axes)


@styled
def progress_chart(kpis: pd.DataFrame) -> Figure:
    """Completed and pending exchanges per KPI, stacked, with the grant-agreement target marked.

    >>> fig = progress_chart(kpi_table(table, targets))  # doctest: +SKIP
    """
    frame = kpis.reindex(list(KPI_NAMES))
    fig, (ax,) = _figure(3.6)
    y = np.arange(len(frame))[::-1]
    actual = frame["actual"].to_numpy(dtype=float)
    pending = frame["pending"].to_numpy(dtype=float)
    ax.barh(y, actual, color=COMPLETED, label="Completed", height=0.6)
    ax.barh(y, pending, left=actual, color=PENDING, hatch=MEANINGS["pending"][1], edgecolor="white", label="Pending",
            height=0.6)
    target = frame["target"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    has = ~np.isnan(target)
    if has.any():  # no targets, no target marks and no "Target" legend
        ax.scatter(target[has], y[has], marker="|", s=500, linewidths=2.5, color=TARGET, label="Target", zorder=3)
    for yi, a, p, t in zip(y, actual, pending, target):
        text = f" {int(a)}" + (f" + {int(p)} pending" if p else "")
        text += f"  ({percent(a, t)} of {int(t)})" if t and not np.isnan(t) else ""
        _note(ax, max(a + p, 0 if np.isnan(t) else t), yi, text.strip())
    ax.set_yticks(y, [LABELS[k] for k in frame.index])
    ax.set_xlabel("Number of exchanges")
    ax.set_title("Progress against the grant-agreement targets" if has.any() else "Completed and pending exchanges")
    ax.set_xlim(0, np.nanmax([np.nanmax(actual + pending), np.nanmax(target) if has.any() else 0, 1]) * 1.45)
    _whole_numbers(ax)
    ax.legend(loc="lower right")
    return _describe(fig, f"Bar chart, {ax.get_title(loc='left').lower()}: " + "; ".join(
        f"{LABELS[k]}: {int(a)} completed, {int(p)} pending" + (f", target {int(t)} ({percent(a, t)})"
                                                                 if not np.isnan(t) else "")
        for k, a, p, t in zip(frame.index, actual, pending, target)))


@styled
def entity_type_chart(table: pd.DataFrame) -> Figure:
    """Exchanges by the visiting organisation's type of entity, completed and pending."""
    counts = _status_counts(table, "vo_entity_type", ENTITY_TYPES)[::-1]
    fig, (ax,) = _figure(2.6)
    y = np.arange(len(counts))
    ax.barh(y, counts["completed"], color=COMPLETED, label="Completed", height=0.6)
    ax.barh(y, counts["pending"], left=counts["completed"], color=PENDING, hatch=MEANINGS["pending"][1],
            edgecolor="white", label="Pending", height=0.6)
    _label_bars(ax, counts.sum(axis=1).to_numpy())
    ax.set_yticks(y, _entity_labels(counts.index))
    ax.set_xlabel("Number of exchanges")
    ax.set_title("Exchanges by type of visiting organisation")
    _whole_numbers(ax)
    ax.legend(loc="lower right")
    return _describe(fig, "Bar chart, exchanges by type of visiting organisation: " + _counts_text(counts[::-1]))


@styled
def event_chart(table: pd.DataFrame, top: int = 15) -> Figure:
    """Exchanges per event (group exchange), stacked by the visitor's type of entity.

    Shows the ``top`` largest events; the rest are summed as "Other events".
    """
    rows = usable(table)
    events = rows["event"].fillna("(no event)")
    counts = pd.crosstab(events, pd.Categorical(rows["vo_entity_type"], categories=list(ENTITY_TYPES)),
                         dropna=False).reindex(columns=list(ENTITY_TYPES), fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    if len(counts) > top:
        counts = pd.concat([counts.iloc[:top], counts.iloc[top:].sum().to_frame("Other events").T])
    counts = counts[::-1]
    fig, (ax,) = _figure(1.2 + 0.32 * len(counts))
    y, left = np.arange(len(counts)), np.zeros(len(counts))
    for kind in ENTITY_TYPES:
        values = counts[kind].to_numpy()
        if values.any():
            ax.barh(y, values, left=left, color=ENTITY_COLOURS[kind], hatch=ENTITY_HATCHES[kind],
                    edgecolor="white", label=LABELS[kind], height=0.65)
        left += values
    _label_bars(ax, left)
    ax.set_yticks(y, [_shorten(str(e)) for e in counts.index], parse_math=False)  # names are data, not TeX
    ax.set_xlabel("Number of exchanges")
    ax.set_title("Exchanges by event, by type of visiting organisation")
    _whole_numbers(ax)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    parts = [f"{event}: {int(total)} (" + ", ".join(f"{LABELS[k]} {int(n)}" for k, n in row.items() if n) + ")"
             for (event, row), total in zip(counts[::-1].iterrows(), left[::-1])]
    return _describe(fig, "Bar chart, exchanges by event: " + "; ".join(parts))


@styled
def partnership_chart(table: pd.DataFrame) -> Figure:
    """Visitors inside and outside the partnership: overall, and per type of entity."""
    rows = usable(table)
    side = pd.Categorical(rows["partnership"], categories=["inside", "outside"])
    overall = pd.Series(side).value_counts().reindex(["inside", "outside"], fill_value=0)
    per_type = pd.crosstab(pd.Categorical(rows["vo_entity_type"], categories=list(ENTITY_TYPES)), side,
                           dropna=False).reindex(index=list(ENTITY_TYPES), columns=["inside", "outside"],
                                                 fill_value=0)[::-1]
    fig, (ax1, ax2) = _figure(2.8, ncols=2, width_ratios=[1, 2])
    colours, hatches = [MEANINGS["inside"][0], MEANINGS["outside"][0]], [MEANINGS["inside"][1], MEANINGS["outside"][1]]
    ax1.bar([0, 1], overall.to_numpy(), color=colours, hatch=hatches, edgecolor="white", width=0.6)
    for x, v in enumerate(overall):
        ax1.text(x, v, f"{v}\n({v / max(overall.sum(), 1):.0%})", ha="center", va="bottom", fontsize=8)
    ax1.set_xticks([0, 1], ["Inside", "Outside"])
    ax1.set_ylabel("Number of exchanges")
    ax1.set_ylim(0, max(overall.max(), 1) * 1.3)
    ax1.grid(axis="x", visible=False)
    ax1.grid(axis="y", visible=True)
    ax1.set_title("Inside or outside the partnership")
    y, left = np.arange(len(per_type)), np.zeros(len(per_type))
    for column, colour, hatch in zip(["inside", "outside"], colours, hatches):
        ax2.barh(y, per_type[column], left=left, color=colour, hatch=hatch, edgecolor="white",
                 label=column.capitalize(), height=0.6)
        left += per_type[column].to_numpy()
    _label_bars(ax2, left)
    ax2.set_yticks(y, _entity_labels(per_type.index))
    ax2.set_xlabel("Number of exchanges")
    ax2.set_title("By type of visitor")
    _whole_numbers(ax1, axis="y")
    _whole_numbers(ax2)
    ax2.legend(loc="lower right")
    return _describe(fig, f"Bar charts, visitors inside ({overall['inside']}) and outside ({overall['outside']}) the "
                          "partnership; by type of visitor: " + "; ".join(
                              f"{LABELS[k]}: {int(r['inside'])} inside, {int(r['outside'])} outside"
                              for k, r in per_type[::-1].iterrows()))


@styled
def status_chart(table: pd.DataFrame) -> Figure:
    """Exchange status (completed / pending, and cancelled when any) and use of the CXC IT tool."""
    rows = usable(table)
    status_counts = pd.Series(kpi_status_counts(table))  # cancelled exchanges listed, when there are any
    status_counts = status_counts[(status_counts > 0) | (status_counts.index != "cancelled")]
    tool = rows["it_tool"].map({True: "Used", False: "Not used"}).fillna("Not recorded")
    tool_counts = tool.value_counts().reindex(["Used", "Not used", "Not recorded"], fill_value=0)
    tool_counts = tool_counts[(tool_counts > 0) | (tool_counts.index != "Not recorded")]
    fig, (ax1, ax2) = _figure(2.4, ncols=2)
    for ax, counts, colours, hatches, title in (
            (ax1, status_counts, *_styles(list(status_counts.index)), "Status of the exchanges"),
            (ax2, tool_counts, *_styles(["it_tool_used", "it_tool_not_used", "not_recorded"]),
             "Use of the CXC IT tool")):
        y = np.arange(len(counts))[::-1]
        ax.barh(y, counts.to_numpy(), color=colours[:len(counts)], hatch=hatches[:len(counts)], edgecolor="white",
                height=0.6)
        for yi, v in zip(y, counts):
            _note(ax, v, yi, f"{v} ({percent(v, max(counts.sum(), 1))})")
        labels = [LABELS.get(str(i), str(i)) for i in counts.index]
        ax.set_yticks(y, labels)
        ax.set_xlim(0, max(counts.max(), 1) * 1.45)
        ax.set_xlabel("Number of exchanges")
        ax.set_title(title)
        _whole_numbers(ax)
    return _describe(fig, "Bar charts, status of the exchanges: " + ", ".join(
        f"{k} {v}" for k, v in status_counts.items()) + "; use of the CXC IT tool: " + ", ".join(
        f"{k.lower()} {v}" for k, v in tool_counts.items()))


def _styles(meanings: list[str]) -> tuple[list[str], list[str]]:
    """Colours and hatches of some meanings, in order."""
    return [MEANINGS[m][0] for m in meanings], [MEANINGS[m][1] for m in meanings]


def _shorten(text: str, width: int = 42) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def svg_text(fig: Figure) -> str:
    """The chart as an SVG document whose <title> is its text alternative.

    >>> "<title>Chart: x</title>" in svg_text(_describe(Figure(figsize=(1, 1)), "Chart: x"))
    True
    """
    import html
    import io
    import re

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    title = f"<title>{html.escape(alt_text(fig))}</title>"
    return re.sub(r"(<svg\b[^>]*>)", lambda m: m.group(1) + title, buffer.getvalue(), count=1)


def show(fig: Figure) -> None:
    """In a notebook, display a chart as SVG with its text alternative (alt text in HTML and PDF)."""
    from IPython.display import display

    alt = alt_text(fig)
    display({"image/svg+xml": svg_text(fig), "text/plain": alt}, raw=True, metadata={"alt": alt})


def show_as_svg() -> None:
    """In a notebook, display Figures as SVG (sharp in HTML and PDF). Does nothing elsewhere."""
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover - outside IPython
        return
    set_matplotlib_formats("svg")
    matplotlib.rcParams.update({k: STYLE[k] for k in SAVE_STYLE})


@styled
def projection_chart(projection: pd.DataFrame, elapsed: int, total: int,
                     dated: pd.Series | None = None) -> Figure:
    """Per KPI: completed so far (cumulative per month where the tracker has dates, else one
    mark at the reporting month), the target line and the projection to the end, dashed.

    ``projection`` is ``progress.project_kpis``; ``dated`` the completed exchanges per month of
    all exchanges (``progress.completed_by_month``), drawn on the first panel only.
    """
    kpis = list(projection.index)
    rows = (len(kpis) + 1) // 2
    fig = Figure(figsize=(WIDTH, 1.0 + 1.55 * rows), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False, sharex=True).ravel().tolist()
    for ax, kpi in zip(axes, kpis):
        row = projection.loc[kpi]
        if kpi == "exchanges" and dated is not None and len(dated):
            months = np.arange(1, elapsed + 1)
            ax.step(months, dated.reindex(months, fill_value=0).cumsum().to_numpy(), where="post", color=COMPLETED,
                    label="Completed (dated)")
        ax.plot([elapsed], [row["actual"]], "o", color=COMPLETED, label="Completed so far")
        ax.plot([elapsed, total], [row["actual"], row["projected"]], "--", color=COMPLETED, label="Projection")
        if row["target"] == row["target"]:
            ax.axhline(row["target"], color=TARGET, linewidth=1, label="Target")
        ax.set_title(LABELS[kpi], fontsize=9)
        ax.set_xlim(0, max(total, elapsed) + 0.5)  # a report after the end still shows its figures
        ax.set_ylim(0, max(row["projected"], row["target"] if row["target"] == row["target"] else 0, 1) * 1.15)
        ax.grid(axis="y", visible=True)
        _whole_numbers(ax, axis="y")
        _whole_numbers(ax, axis="x")
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    for ax in axes[-2:]:
        ax.set_xlabel("Project month")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
    return _describe(fig, "Line charts, completed exchanges at M{} and projected to M{} at the same pace "
                     "(dashed, a projection, not data): ".format(elapsed, total) + "; ".join(
                         f"{LABELS[k]}: {int(r['actual'])} now, about {r['projected']:.0f} projected"
                         + (f", target {r['target']:.0f}" if r["target"] == r["target"] else "")
                         for k, r in projection.iterrows()))


@styled
def flow_chart(flows: pd.DataFrame, labels=None) -> Figure:
    """Host country x visitor country as a grid of counts (darker: more exchanges; every count
    written in its cell, so it reads in greyscale too)."""
    labels = labels or (lambda c: str(c))
    fig = Figure(figsize=(WIDTH, 1.9 + 0.3 * len(flows)), layout="constrained")
    ax = fig.subplots()
    values = flows.to_numpy()
    ax.imshow(values, cmap="Blues", aspect="auto", vmin=0, vmax=max(values.max(initial=0), 1) * 1.2)
    for (i, j), n in np.ndenumerate(values):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if n > values.max() * 0.6 else "black")
    ax.set_xticks(range(len(flows.columns)), [labels(c) for c in flows.columns], rotation=45, ha="right")
    ax.set_yticks(range(len(flows.index)), [labels(c) for c in flows.index])
    ax.set_xlabel("Visitor country")
    ax.set_ylabel("Host country")
    ax.grid(False)
    ax.spines[:].set_visible(False)
    ax.set_title("Exchanges by host and visitor country")
    pairs = [f"{labels(h)} hosting {labels(v)}: {n}" for h in flows.index for v in flows.columns
             if (n := int(flows.loc[h, v]))]
    return _describe(fig, "Grid chart, exchanges by host country and visitor country: " + "; ".join(pairs))


@styled
def programme_chart(sides: pd.DataFrame, partnerships: list[str]) -> Figure:
    """Small multiples, one panel per partnership: completed and pending exchanges per KPI with
    the target marked (``programme.side_by_side``), all on one scale."""
    columns = min(3, max(len(partnerships), 1))
    rows = max(1, -(-len(partnerships) // columns))
    fig = Figure(figsize=(WIDTH, 0.9 + 1.9 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False, sharex=True).ravel().tolist()
    kpis = list(KPI_NAMES)
    y = np.arange(len(kpis))
    described = []
    for ax, name in zip(axes, partnerships):
        own = sides[sides["partnership"] == name].set_index("kpi").reindex(kpis)
        actual = own["actual"].fillna(0).to_numpy(dtype=float)
        pending = own["pending"].fillna(0).to_numpy(dtype=float)
        target = own["target"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ax.barh(y, actual, color=COMPLETED, label="Completed")
        ax.barh(y, pending, left=actual, color=PENDING, hatch="//", edgecolor="white", label="Pending")
        ax.scatter(target, y, marker="|", s=140, color=TARGET, label="Target", zorder=3)
        ax.set_yticks(y, [LABELS[k] for k in kpis] if ax in axes[::columns] else [""] * len(kpis), fontsize=7)
        ax.invert_yaxis()
        ax.set_title(_shorten(name, 30), fontsize=9)
        _whole_numbers(ax)
        described.append(f"{name}: {int(actual[0])} completed, {int(pending[0])} pending"
                         + (f", target {target[0]:.0f}" if target[0] == target[0] else ""))
    for ax in axes[len(partnerships):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)
    return _describe(fig, "Bar charts, one per partnership, exchanges per indicator against the targets: "
                     + "; ".join(described))
