import pandas as pd

from cxc_analysis.config import DEFAULT_TARGETS
from cxc_analysis.kpis import breakdown, kpi_json, kpi_table
from cxc_analysis.load import read_targets


def test_golden_significant_results_of_d51(bundled):
    """D5.1 'Significant results' (status after M12): 42/19/13/18/2/5/4 against 80/20/5/40/10/15/10."""
    frame = kpi_table(bundled.table, read_targets(DEFAULT_TARGETS))
    result = kpi_json(frame)
    assert result["actual"] == {"exchanges": 42, "outside_partnership": 19, "cluster_organisation": 13, "sme": 18,
                                "scaling_up_support_organisation": 2, "large_company": 5, "public_authority": 4}
    assert result["target"] == {"exchanges": 80, "outside_partnership": 20, "cluster_organisation": 5, "sme": 40,
                                "scaling_up_support_organisation": 10, "large_company": 15, "public_authority": 10}
    # "So that means we are actually at 47 exchanges": 5 pending, 4 SMEs and 1 large company (UTAC)
    assert result["pending"]["exchanges"] == 5
    assert result["pending"]["sme"] == 4 and result["pending"]["large_company"] == 1
    assert frame.loc["exchanges", "pct_of_target"] == 52.5


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"status": ["completed"] * n, "partnership": ["inside"] * n, "vo_entity_type": ["sme"] * n,
            "excluded": [False] * n, "event": ["E"] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_excluded_rows_count_nowhere():
    t = frame(excluded=[False, True, False], partnership=["outside", "outside", "inside"])
    result = kpi_json(kpi_table(t, {}))
    assert result["actual"]["exchanges"] == 2 and result["actual"]["outside_partnership"] == 1


def test_missing_targets_are_none_and_pending_separate():
    t = frame(status=["completed", "pending", "pending"], vo_entity_type=["sme", "large_company", None])
    result = kpi_json(kpi_table(t, {"sme": 4}))
    assert result["target"]["sme"] == 4 and result["target"]["exchanges"] is None
    assert result["pending"]["exchanges"] == 2 and result["pending"]["large_company"] == 1


def test_breakdown_by_event_and_type(bundled):
    table = breakdown(bundled.table, "event", "vo_entity_type")
    assert table.loc["Cluster Mission in Paris", "cluster_organisation"] == 11
    assert table.sum().sum() == 47


def test_a_target_of_zero_has_no_percentage():
    import pandas as pd

    from cxc_analysis.kpis import kpi_table

    table = pd.DataFrame({"status": ["completed"], "partnership": ["inside"], "vo_entity_type": ["sme"],
                          "excluded": [False]})
    frame = kpi_table(table, {"sme": 0, "exchanges": 2})
    assert pd.isna(frame.loc["sme", "pct_of_target"]) and frame.loc["exchanges", "pct_of_target"] == 50.0
