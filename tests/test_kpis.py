import pandas as pd
import pytest

from cxc_analysis.core.config import DEFAULT_TARGETS
from cxc_analysis.kpis import breakdown, kpi_json, kpi_table
from cxc_analysis.reference.targets import read_targets


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


# --- `kpis --json` reads only KPI_FIELDS: the same counts and excluded rows as a full read ------

def _same_counts(path, columns=None):
    """The KPI table and excluded rows of a full read and of a KPI_FIELDS read of one tracker."""
    from cxc_analysis.kpis import KPI_FIELDS
    from cxc_analysis.report.processed import read_and_clean

    full = read_and_clean(path, columns_path=columns)
    some = read_and_clean(path, columns_path=columns, fields=KPI_FIELDS)
    pd.testing.assert_frame_equal(kpi_table(full.table, {}), kpi_table(some.table, {}))
    assert full.table["source_row"].tolist() == some.table["source_row"].tolist()  # the same rows kept
    excluded = lambda t: t.loc[t["excluded"].fillna(False).astype(bool), "source_row"].tolist()  # noqa: E731
    assert excluded(full.table) == excluded(some.table)
    errors = lambda f: f.loc[f["severity"] == "error"].sort_values(["row", "code"]).reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(errors(full.findings), errors(some.findings))
    for field in ("remarks", "amount_eur", "exchange_id"):  # not read
        assert some.table[field].isna().all()
    return full


def test_kpi_fields_give_the_counts_of_a_full_read_on_every_corpus_tracker(tmp_path):
    from test_corpus import make_corpus

    golden = make_corpus.build(tmp_path)
    for name, entry in golden.items():
        _same_counts(tmp_path / name, tmp_path / entry["columns"] if entry["columns"] else None)


def test_kpi_fields_keep_rows_filled_only_in_other_columns(tmp_path):
    """A row blank in every KPI field but with a remark or an amount is still a row (an excluded
    one, with its errors); a row blank everywhere (spaces too) is none; a cell too long in a
    column not read is refused all the same."""
    from cxc_analysis.core.errors import InputError
    from cxc_analysis.kpis import KPI_FIELDS
    from cxc_analysis.read.tracker import read_tracker

    header = "Exchange no.,HO,VO,VO Type of entity,Inside/outside partnership,(Group) exchange,Amount,Status,Remarks\n"
    rows = ["EG123AB4,Host A,Visitor 1,SME,Inside,Event,550,Completed,",
            ",,,,,,,,only a remark",
            " , ,  ,,,, ,,",
            ",,,,,,\u00a0800 ,,",
            "EG123AB5,host a,VISITOR 1,SME,Inside,event,550,Completed,same exchange",
            "EG123AB6,Host B,Visitor 2,Unknown kind,Outside,Event,550,Pending, ",
            "EG123AB7,Host A,Visitor 1,SME,Inside,Other event,550,Completed,",
            ",,,,,,,,   "]
    path = tmp_path / "t.csv"
    path.write_text(header + "\n".join(rows * 40_000) + "\n", encoding="utf-8")  # over PARALLEL_ROWS: threads too
    full = _same_counts(path)
    assert len(full.table) == 6 * 40_000
    long = tmp_path / "long.csv"
    long.write_text(header + "EG123AB4,Host A,Visitor 1,SME,Inside,Event,550,Completed," + "x" * 40_000 + "\n",
                    encoding="utf-8")
    for fields in (None, KPI_FIELDS):
        with pytest.raises(InputError, match="Remarks"):
            read_tracker(long, fields=fields)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_kpi_fields_give_the_counts_of_a_full_read_on_synthetic_trackers(tmp_path, suffix):
    from cxc_analysis.synth import write_synth

    path = tmp_path / f"synth{suffix}"
    write_synth(path, 3_000, seed=5, duplicates=40)
    _same_counts(path)


# --- statuses as people write them; cancelled exchanges count nowhere (issue 19) ----------------

# Each status as a partner writes it, with what it says (read by hand, not from the vocabulary).
STATUSES = {
    "In attesa report finale": "pending", "In attesa di firma": "pending", "Waiting for report": "pending",
    "waiting for the VO's feedback": "pending", "Awaiting final report": "pending",
    "En attente de validation": "pending", "Wartet auf Abschlussbericht": "pending",
    "A la espera de la factura": "pending", "Pendiente de pago": "pending", "Wacht op verslag": "pending",
    "In afwachting van het verslag": "pending", "Aguardando relatório": "pending", "Em curso": "pending",
    "Completed (late)": "completed", "Terminé en retard": "completed", "Abgeschlossen am 3.5.": "completed",
    "Completato": "completed", "Afgerond": "completed", "Concluído": "completed",
    "Cancelled": "cancelled", "Canceled by the visitor": "cancelled", "Annullato": "cancelled",
    "Annulé": "cancelled", "Cancelado": "cancelled", "Storniert": "cancelled", "Geannuleerd": "cancelled",
    "Anulado": "cancelled",
    # saying two things, or "not": unknown (an error finding), never a guess
    "Completed, then cancelled": None, "Waiting for payment - completed": None, "Not completed": None,
    "Annullato? No, completato": None, "Lost": None,
}


@pytest.mark.parametrize("text, meaning", sorted(STATUSES.items()))
def test_statuses_people_write(text, meaning):
    from cxc_analysis.read.vocabulary import load_vocabulary

    assert load_vocabulary().status(text) == meaning


def test_cancelled_exchanges_count_nowhere_but_are_listed(tmp_path, capsys):
    import json

    from cxc_analysis.cli.main import main
    from cxc_analysis.kpis import breakdown, status_counts, usable
    from cxc_analysis.report.processed import read_and_clean

    # 4 completed (1 outside, 1 large company), 3 pending ("In attesa ..." among them), 2 cancelled,
    # 1 unknown status (an error row)
    rows = [("Completed", "Inside", "SME"), ("Completato", "Outside", "SME"), ("Done", "Inside", "Large company"),
            ("Terminé", "Inside", "PME"), ("In attesa report finale", "Inside", "SME"),
            ("Waiting for report", "Outside", "SME"), ("Pending", "Inside", "Grande entreprise"),
            ("Cancelled", "Outside", "SME"), ("Annullato", "Inside", "Large company"), ("Lost", "Inside", "SME")]
    lines = ["HO,VO,VO Type of entity,Inside/outside partnership,(Group) exchange,Status"]
    lines += [f"Host {i},Visitor {i},{kind},{side},Mission,{status}" for i, (status, side, kind) in enumerate(rows)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, findings = read_and_clean(path)
    assert findings.loc[findings["severity"] == "error", "row"].tolist() == [11]  # "Lost" only
    result = kpi_json(kpi_table(table, {}))
    assert result["actual"]["exchanges"] == 4 and result["actual"]["outside_partnership"] == 1
    assert result["actual"]["large_company"] == 1 and result["actual"]["sme"] == 3
    assert result["pending"]["exchanges"] == 3 and result["pending"]["large_company"] == 1
    assert status_counts(table) == {"completed": 4, "pending": 3, "cancelled": 2}
    assert len(usable(table)) == 7 and breakdown(table, "event")["count"].tolist() == [7]
    assert main(["kpis", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["cancelled"]["exchanges"] == 2 and printed["cancelled"]["large_company"] == 1
    assert printed["actual"]["exchanges"] == 4 and printed["pending"]["exchanges"] == 3
    assert main(["kpis", str(path)]) == 0
    assert "2 cancelled exchanges (counted nowhere above)" in capsys.readouterr().out


def test_a_vocabulary_file_adds_status_heads_for_a_known_status_only(tmp_path):
    from cxc_analysis.core.errors import InputError
    from cxc_analysis.read.vocabulary import load_vocabulary

    good = tmp_path / "words.yaml"
    good.write_text("status_heads:\n  pending:\n    pl: [czeka na]\n", encoding="utf-8")
    assert load_vocabulary(str(good)).status("Czeka na raport końcowy") == "pending"  # Polish: waits for
    assert load_vocabulary().status("Czeka na raport końcowy") is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("status_heads:\n  postponed: [rinviato]\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown status 'postponed'"):
        load_vocabulary(str(bad))
