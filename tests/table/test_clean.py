import pandas as pd
import pytest
from conftest import HEADERS, exchange, write_xlsx
from hypothesis import given
from hypothesis import strategies as st

from cxc_analysis.core.schema import COLUMNS, validate
from cxc_analysis.core.text import key
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.read.vocabulary import load_vocabulary
from cxc_analysis.table.clean import clean

ENTITY_LABELS = load_vocabulary().labels["vo_entity_type"]


def cleaned(tmp_path, *rows, title_rows=0):
    path = write_xlsx(tmp_path / "t.xlsx", [["title"]] * title_rows + [HEADERS, *rows])
    return clean(read_tracker(path))


def test_bundled_table_matches_the_declaration(bundled):
    table, findings = bundled
    assert list(table.columns) == list(COLUMNS)
    assert validate(table, findings) == []
    assert validate(table) == ["exchange_id: not of the pattern EG\\d{3}[A-Z]{2}\\d at rows [43] (and no "
                               "'malformed_id' finding says so)"]  # EG50WA1: kept as written, flagged
    assert table["status"].value_counts().to_dict() == {"completed": 42, "pending": 5, "cancelled": 0}
    # IT tool: 27 "Completed, but without the IT tool" + 5 "Established without IT tool"; 15 with an ID
    assert table["it_tool"].value_counts().to_dict() == {False: 32, True: 15}
    assert table.loc[~table["lump_sum_used"], "visiting_org"].tolist() == ["DSM"]


def test_bundled_findings_flag_only_the_malformed_id(bundled):
    _, findings = bundled
    assert findings[["row", "column", "severity", "code"]].values.tolist() == \
        [[43, "Exchange no.", "warning", "malformed_id"]]
    assert "EG50WA1" in findings["message"].item()


@pytest.mark.parametrize("text, code", [
    ("SME", "sme"), ("SME's", "sme"), (" smes ", "sme"), ("SMEs", "sme"),
    ("Cluster Organization", "cluster_organisation"), ("cluster organisations", "cluster_organisation"),
    ("Scaling-up support organisation", "scaling_up_support_organisation"),
    ("scale-up support organizations", "scaling_up_support_organisation"),
    ("Large Companies", "large_company"), ("public authorities", "public_authority"),
    ("Public Authority", "public_authority"),
])
def test_entity_type_variants(tmp_path, text, code):
    table, findings = cleaned(tmp_path, exchange(kind=text))
    assert table["vo_entity_type"].tolist() == [code] and findings.empty


@given(st.sampled_from(sorted(ENTITY_LABELS)), st.sampled_from([str.upper, str.title, str.lower]),
       st.text(" \t", max_size=3), st.text(" ", max_size=3))
def test_labels_are_stable_under_case_and_spaces(label, case, left, right):
    assert load_vocabulary().label("vo_entity_type", left + case(label) + right) == ENTITY_LABELS[label]


@given(st.text(max_size=40))
def test_key_is_idempotent(text):
    assert key(key(text)) == key(text)


@pytest.mark.parametrize("text, expected", [
    ("SME's", "sme"), ("Scaling-Up Support Organizations", "scaling up support organisation"),
    ("  Clúster   B.V. ", "cluster b v"), ("Large Companies", "large company"), ("Public Authorities", "public authority"),
    ("Behörde", "behorde"), ("ÉTAT", "etat"), ("Business", "business"), ("analysis", "analysis"), ("", ""),
])
def test_key_by_hand(text, expected):
    """Case, accents, punctuation, British spelling and plurals ignored; words that end in s kept."""
    assert key(text) == expected


def test_statuses():
    status = load_vocabulary().status
    assert status("Completed, but without the IT tool") == "completed"
    assert status("COMPLETED") == "completed"
    assert status("Waiting for Final Activity Report") == "pending"
    assert status("cancelled") == "cancelled"  # a status of its own, counted nowhere (issue 19)
    assert status("Lost") is None


@pytest.mark.parametrize("text, code", [
    ("PME", "sme"), ("KMU", "sme"), ("PYME", "sme"), ("PMI", "sme"), ("MKB", "sme"),
    ("Organisation de cluster", "cluster_organisation"), ("Clusterorganisation", "cluster_organisation"),
    ("Grande entreprise", "large_company"), ("Großunternehmen", "large_company"),
    ("Autorité publique", "public_authority"), ("Pubblica amministrazione", "public_authority"),
])
def test_entity_types_in_the_partners_languages(tmp_path, text, code):
    table, findings = cleaned(tmp_path, exchange(kind=text))
    assert table["vo_entity_type"].tolist() == [code] and findings.empty


def test_labels_in_several_languages_in_one_tracker(tmp_path):
    table, findings = cleaned(
        tmp_path,
        exchange("A", side="innerhalb", status="Abgeschlossen, ohne IT-Tool"),
        exchange("B", side="Hors partenariat", status="Terminé"),
        exchange("C", side="Inside", status="En attente du rapport final"),
        exchange("D", kind="Cluster organsation"))  # a typo: an unknown label, never guessed
    assert table["partnership"].tolist()[:3] == ["inside", "outside", "inside"]
    assert table["status"].tolist()[:3] == ["completed", "completed", "pending"]
    assert not table["it_tool"].iloc[0] and pd.isna(table["it_tool"].iloc[1])  # said without; not said
    assert findings[["row", "code"]].values.tolist() == [[5, "unknown_label"]]
    assert "'Cluster organsation'" in findings["message"].item()


def test_findings_name_the_trackers_own_headers(tmp_path):
    headers = ["N° d'échange", "Organisation d'accueil", "Organisation visiteuse", "Type d'entité (VO)",
               "Partenariat", "Événement", "Statut", "Remarques"]
    path = write_xlsx(tmp_path / "t.xlsx", [headers, exchange("A", kind="Robot", eid="X1")])
    _, findings = clean(read_tracker(path))
    assert findings[["column", "code"]].values.tolist() == [["Type d'entité (VO)", "unknown_label"],
                                                            ["N° d'échange", "malformed_id"]]


def test_findings_rows_are_excel_rows_and_errors_exclude(tmp_path):
    table, findings = cleaned(
        tmp_path,
        exchange("A", kind="robot"),                  # row 4: unknown label -> error
        [None] * 8,                                   # row 5: blank, skipped
        exchange(None),                               # row 6: missing VO -> error
        exchange("B", eid="EG12"),                    # row 7: malformed id -> warning only
        exchange("C", side="sideways"),               # row 8: unknown partnership
        title_rows=2)
    got = findings[["row", "severity", "code"]].values.tolist()
    assert got == [[4, "error", "unknown_label"], [6, "error", "missing_value"],
                   [7, "warning", "malformed_id"], [8, "error", "unknown_label"]]
    assert "'robot'" in findings.message[0] and "excluded from the KPIs" in findings.message[0]
    assert table.set_index("source_row")["excluded"].to_dict() == {4: True, 6: True, 7: False, 8: True}


def test_duplicate_exchange_flags_the_later_copy(tmp_path):
    _, findings = cleaned(tmp_path, exchange("A"), exchange("B"), exchange(" a "))
    assert findings[["row", "code"]].values.tolist() == [[4, "duplicate_exchange"]]
    assert "row 2" in findings.message[0]


def test_duplicate_ids_warn(tmp_path):
    _, findings = cleaned(tmp_path, exchange("A", eid="EG927FA8"), exchange("B", eid="EG927FA8"))
    assert findings[["row", "severity", "code"]].values.tolist() == [[3, "warning", "duplicate_id"]]


def test_names_spaces_normalised_and_hostile_text_kept_as_text(tmp_path):
    table, findings = cleaned(tmp_path, exchange("  Big   Corp  "), exchange("=HYPERLINK(\"http://x\")"),
                              exchange("<script>alert(1)</script>"))
    assert table["visiting_org"].tolist() == ["Big Corp", '=HYPERLINK("http://x")', "<script>alert(1)</script>"]
    assert findings[["row", "code"]].values.tolist() == [[3, "formula_like_text"]]


def test_it_tool_and_lump_sum(tmp_path):
    table, _ = cleaned(tmp_path, exchange("A", eid="EG927FA8"),
                       exchange("B", status="Completed, but without the IT tool"),
                       exchange("C", status="Waiting for Final Activity Report", remarks="Established without IT tool"),
                       exchange("D", remarks="has not made use of the lump sum"))
    assert table["it_tool"].tolist() == [True, False, False, pd.NA]
    assert table["lump_sum_used"].tolist() == [True, True, True, False]


def test_clean_does_not_mutate_its_input(tmp_path):
    raw = read_tracker(write_xlsx(tmp_path / "t.xlsx", [HEADERS, exchange("  A  b ")]))
    before = raw.copy()
    clean(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_validate_reports_every_failure_with_rows(bundled):
    table = bundled.table.head(3).assign(vo_entity_type=pd.Categorical(["sme", "robot", "sme"]),
                                         source_row=[4, 5, 6], excluded=pd.array([False, None, False], dtype="boolean"))
    failures = validate(table)
    assert "vo_entity_type: invalid at rows [5]" in failures and "excluded: invalid at rows [5]" in failures
    assert validate(table.assign(source_row=[4.0, 5.0, None]))[0] == "source_row: dtype float64, declared int64"


def test_dates_and_amounts_in_their_usual_forms(tmp_path):
    import datetime as dt

    raw = pd.DataFrame({"start_date": pd.Series([dt.datetime(2022, 11, 15), "2022-11-16", "17/11/2022", 44882.0,
                                                 "someday", None], dtype="object"),
                        "end_date": pd.Series([None] * 6, dtype="object"),
                        "amount_eur": pd.Series(["1.100,00 €", 1100, "1100.5", "EUR 900", "lots", None],
                                                dtype="object")})
    from cxc_analysis.table.clean import parse_amounts, parse_dates

    dates = parse_dates(raw)["start_date"]
    assert dates.dt.strftime("%Y-%m-%d").tolist()[:4] == ["2022-11-15", "2022-11-16", "2022-11-17", "2022-11-17"]
    assert dates.iloc[4:].isna().all() and parse_dates(raw)["end_date"].isna().all()
    amounts = parse_amounts(raw)["amount_eur"]
    assert amounts.tolist()[:4] == [1100.0, 1100.0, 1100.5, 900.0] and amounts.iloc[4:].isna().all()


def test_what_csv_output_neutralises_is_exactly_what_clean_flags(tmp_path):
    """One list of formula prefixes: "-2+3" is flagged by clean and prefixed in the CSV alike."""
    from cxc_analysis.core.output import neutralise_formulas

    table, findings = cleaned(tmp_path, exchange("-2+3"), exchange("+SUM(A1)"), exchange("Axxor"))
    flagged = set(findings.loc[findings["code"] == "formula_like_text", "row"])
    safe = neutralise_formulas(table[["source_row", "visiting_org"]])
    prefixed = set(table.loc[safe["visiting_org"].str.startswith("'"), "source_row"])
    assert flagged == prefixed == {2, 3}
