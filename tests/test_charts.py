import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxc_analysis import charts
from cxc_analysis.config import DEFAULT_TARGETS
from cxc_analysis.kpis import kpi_table
from cxc_analysis.load import read_targets

OKABE_ITO = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999", "#000000"}


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
        assert hex_colours(fig) <= OKABE_ITO
        assert all(ax.get_title(loc="left") for ax in fig.axes)


def test_excluded_rows_are_not_drawn(bundled):
    table = bundled.table.assign(excluded=[True] * 5 + [False] * 42)
    assert sum(bar_widths(charts.entity_type_chart(table).axes[0])) == 42
