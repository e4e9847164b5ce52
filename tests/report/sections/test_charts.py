import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxc_analysis.core.config import DEFAULT_TARGETS
from cxc_analysis.kpis import kpi_table
from cxc_analysis.reference.targets import read_targets
from cxc_analysis.report.sections import charts

OKABE_ITO = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999", "#000000"}
TOL_EXTRAS = {"#332288", "#882255", "#44aa99", "#dddddd"}  # Paul Tol's colour-blind-safe schemes


def bar_widths(ax) -> list[float]:
    return [p.get_width() for p in ax.patches]


def hex_colours(fig: Figure) -> set[str]:
    from matplotlib.colors import to_hex

    return {to_hex(p.get_facecolor()) for ax in fig.axes for p in ax.patches}


@pytest.fixture(scope="module")
def kpis(bundled):
    return kpi_table(bundled.table, read_targets(DEFAULT_TARGETS))


def test_progress_chart_draws_completed_pending_and_targets(kpis):
    fig = charts.progress_chart(kpis)
    ax = fig.axes[0]
    widths = bar_widths(ax)
    assert widths[:7] == kpis["actual"].tolist() and widths[7:] == kpis["pending"].tolist()
    targets = sorted(ax.collections[0].get_offsets()[:, 0].tolist())
    assert targets == sorted(kpis["target"].astype(float).tolist())
    assert ax.get_title(loc="left") == "Progress against the grant-agreement targets"
    assert ax.get_xlabel() == "Number of exchanges"


def test_entity_type_chart_counts_every_usable_exchange(bundled):
    fig = charts.entity_type_chart(bundled.table)
    assert sum(bar_widths(fig.axes[0])) == 47
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "Cluster organisations"


def test_event_chart_stacks_by_entity_type_and_caps_events(bundled):
    fig = charts.event_chart(bundled.table)
    assert sum(bar_widths(fig.axes[0])) == 47
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "JEC Paris" and len(labels) == 6  # largest event on top
    many = pd.DataFrame({"event": [f"E{i}" for i in range(30)], "vo_entity_type": ["sme"] * 30,
                         "status": ["completed"] * 30, "excluded": [False] * 30})
    capped = charts.event_chart(many, top=5)
    assert "Other events" in [t.get_text() for t in capped.axes[0].get_yticklabels()]


def test_partnership_and_status_charts(bundled):
    fig = charts.partnership_chart(bundled.table)
    assert [p.get_height() for p in fig.axes[0].patches] == [28, 19]
    fig = charts.status_chart(bundled.table)
    assert bar_widths(fig.axes[0]) == [42, 5] and bar_widths(fig.axes[1]) == [15, 32]


def test_charts_use_the_colour_blind_safe_palette(bundled, kpis):
    figures = [charts.progress_chart(kpis), charts.entity_type_chart(bundled.table),
               charts.event_chart(bundled.table), charts.partnership_chart(bundled.table),
               charts.status_chart(bundled.table)]
    for fig in figures:
        assert isinstance(fig, Figure)
        assert hex_colours(fig) <= OKABE_ITO | TOL_EXTRAS
        assert all(ax.get_title(loc="left") for ax in fig.axes)


def test_excluded_rows_are_not_drawn(bundled):
    table = bundled.table.assign(excluded=[True] * 5 + [False] * 42)
    assert sum(bar_widths(charts.entity_type_chart(table).axes[0])) == 42


def drawn_styles(fig: Figure) -> set[tuple[str, str]]:
    from matplotlib.colors import to_hex

    return {(to_hex(p.get_facecolor()), p.get_hatch() or "") for ax in fig.axes for p in ax.patches}


def test_one_colour_and_hatch_per_meaning_across_charts(bundled, kpis):
    colours = [colour.lower() for colour, _ in charts.MEANINGS.values()]
    assert len(set(colours)) == len(colours)  # no colour stands for two things
    styles = {(colour.lower(), hatch) for colour, hatch in charts.MEANINGS.values()}
    figures = {"progress": charts.progress_chart(kpis), "entity": charts.entity_type_chart(bundled.table),
               "event": charts.event_chart(bundled.table), "partnership": charts.partnership_chart(bundled.table),
               "status": charts.status_chart(bundled.table)}
    for name, fig in figures.items():
        assert drawn_styles(fig) <= styles, name
    # the example: orange hatching meant Pending, SMEs and Outside in three charts
    pending = {s for s in drawn_styles(figures["progress"])} - {(charts.BLUE.lower(), "")}
    assert pending.isdisjoint(drawn_styles(figures["event"]) | drawn_styles(figures["partnership"]))


def test_counts_have_whole_number_ticks():
    table = pd.DataFrame({"vo_entity_type": ["sme", "sme", "large_company"], "status": ["completed"] * 3,
                          "excluded": [False] * 3})
    fig = charts.entity_type_chart(table)
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) and all(float(t).is_integer() for t in ticks)


def test_no_targets_draws_no_target_marks_and_says_so_in_the_alt_text(bundled):
    kpis = kpi_table(bundled.table, {})
    fig = charts.progress_chart(kpis)
    ax = fig.axes[0]
    assert not ax.collections and "Target" not in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "target" not in charts.alt_text(fig).lower().replace("targets", "")


def test_every_chart_states_its_figures_in_its_text_alternative(bundled, kpis):
    assert "Exchanges: 42 completed, 5 pending, target 80 (52.5%)" in charts.alt_text(charts.progress_chart(kpis))
    assert "SMEs: 18 completed" in charts.alt_text(charts.entity_type_chart(bundled.table))
    assert "inside (28) and outside (19)" in charts.alt_text(charts.partnership_chart(bundled.table))
    assert "completed 42, pending 5; use of the CXC IT tool: used 15, not used 32" in charts.alt_text(charts.status_chart(bundled.table))
    assert "JEC Paris:" in charts.alt_text(charts.event_chart(bundled.table))
    svg = charts.svg_text(charts.status_chart(bundled.table))
    assert "<title>Bar charts, status of the exchanges: completed 42" in svg


def test_projection_is_drawn_dashed_never_as_data(kpis):
    from cxc_analysis.report.sections import progress

    fig = charts.projection_chart(progress.project_kpis(kpis, 12, 24), 12, 24)
    ax = fig.axes[0]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_xydata().tolist() == [[12.0, 42.0], [24.0, 84.0]]
    assert [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "-"] == [80]  # the target line
    assert "Exchanges: 42 now, about 84 projected, target 80" in charts.alt_text(fig)
    assert "a projection, not data" in charts.alt_text(fig)


def test_flow_chart_writes_every_count_and_names_the_pairs():
    flows = pd.DataFrame([[2, 0], [1, 3]], index=["FR", "Unknown"], columns=["DE", "FR"])
    fig = charts.flow_chart(flows)
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["1", "2", "3"]
    assert "FR hosting DE: 2" in charts.alt_text(fig) and "Unknown hosting FR: 3" in charts.alt_text(fig)
