"""Every figure the report shows, against a value worked out without the package: by hand from a
small tracker written here, from the D5.1 midterm report's tables and text, or from a public fact.

The small tracker (``TRACKER``) goes through the real reading and cleaning, so its figures are the
report's own: what each row is and what it must count for is written next to it.
"""

import datetime as dt
import math

import pandas as pd
import pytest

from cxc_analysis.core.config import DEFAULT_REGISTER, DEFAULT_TARGETS
from cxc_analysis.kpis import kpi_display, kpi_json, kpi_table
from cxc_analysis.reference.register import read_register
from cxc_analysis.reference.targets import read_targets
from cxc_analysis.report.processed import read_and_clean
from cxc_analysis.report.sections import compare, costs, flows, progress

HEADER = ("Exchange no.,HO,VO,VO Type of entity,Inside/outside partnership,(Group) exchange,Start date,End date,"
          "HO country,VO country,HO city,VO city,Amount,Status,Remarks")
# Excel row: what it is                                              counts for
TRACKER = [
    # 2: SME, inside, 5 working days Mon-Fri, Paris-Eindhoven (far)  completed; full lump sum; EUR 1,100
    "EG100AA1,Host A,Visitor 1,SME,Inside,Event X,06/03/2023,10/03/2023,France,Netherlands,Paris,Eindhoven,1100,"
    "Completed,",
    # 3: cluster, outside, 3 working days, Paris-Regensburg (far)    completed; halved (short stay); EUR 550
    "EG100AA2,Host A,Visitor 2,Cluster organisation,Outside,Event X,06/03/2023,08/03/2023,France,Germany,Paris,"
    "Regensburg,550,Completed,",
    # 4: a copy of row 2 (other case): an error, counted nowhere     nothing (its EUR 1,100 neither)
    "EG100AA1,host a,VISITOR 1,SME,Inside,event x,06/03/2023,10/03/2023,France,Netherlands,Paris,Eindhoven,1100,"
    "Completed,copied",
    # 5: large company, outside, no amount                           pending
    ",Host B,Visitor 3,Large company,Outside,Event Y,03/04/2023,07/04/2023,Spain,France,Madrid,Lyon,,Pending,",
    # 6: public authority, inside, 4 working days (Tue-Fri)          completed; halved (short stay); EUR 800
    ",Host B,Visitor 4,Public authority,Inside,Event Y,02/05/2023,05/05/2023,Spain,Italy,Madrid,Milan,800,"
    "Completed,",
    # 7: an unknown type: an error, counted nowhere                  nothing (its EUR 1,000 neither)
    ",Host B,Visitor 5,Alien,Inside,Event Y,02/05/2023,05/05/2023,Spain,Italy,Madrid,Milan,1000,Completed,",
    # 8: SME, outside, 5 working days, Brussels-Antwerp (about 41 km) completed; halved (too close); EUR 300
    #    (its dates, day 19 and 23, prove the tracker writes day/month: the others alone could not)
    ",Host C,Visitor 6,SME,Outside,Event Z,19/06/2023,23/06/2023,Belgium,Belgium,Brussels,Antwerp,300,Completed,",
]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("figures") / "tracker.csv"
    path.write_text(HEADER + "\n" + "\n".join(TRACKER) + "\n", encoding="utf-8")
    return read_and_clean(path)


def test_small_tracker_excludes_the_copy_and_the_unknown_label(small):
    excluded = small.table.loc[small.table["excluded"].fillna(False).astype(bool), "source_row"].tolist()
    assert excluded == [4, 7]


# --- KPIs ---------------------------------------------------------------------------------

def test_kpis_of_the_small_tracker_by_hand(small):
    result = kpi_json(kpi_table(small.table, {"exchanges": 8, "sme": 3}))
    # completed and usable: rows 2 (SME, inside), 3 (cluster, outside), 6 (public, inside), 8 (SME, outside)
    assert result["actual"] == {"exchanges": 4, "outside_partnership": 2, "cluster_organisation": 1, "sme": 2,
                                "scaling_up_support_organisation": 0, "large_company": 0, "public_authority": 1}
    # pending: row 5 (large company, outside)
    assert result["pending"] == {"exchanges": 1, "outside_partnership": 1, "cluster_organisation": 0, "sme": 0,
                                 "scaling_up_support_organisation": 0, "large_company": 1, "public_authority": 0}
    frame = kpi_table(small.table, {"exchanges": 8, "sme": 3})
    assert frame.loc["exchanges", "pct_of_target"] == 50.0  # 4 of 8
    assert frame.loc["sme", "pct_of_target"] == 66.7  # 2 of 3, one decimal


def test_kpi_display_names_as_a_reviewer_reads_them(bundled):
    shown = kpi_display(kpi_table(bundled.table, read_targets(DEFAULT_TARGETS)))
    # D5.1 "Significant results": the grant agreement's words, the figures after M12
    assert list(shown.columns) == ["Completed", "Pending", "Target", "% of target"]
    assert shown.index.name == "Indicator"
    assert shown["Completed"].tolist() == [42, 19, 13, 18, 2, 5, 4]
    assert shown["Target"].tolist() == [80, 20, 5, 40, 10, 15, 10]
    assert shown["% of target"].tolist() == [52.5, 95.0, 260.0, 45.0, 20.0, 33.3, 40.0]


# --- costs: support paid and the lump sums ------------------------------------------------

def test_support_paid_counts_usable_rows_only(small):
    paid = costs.spending(small.table)
    # rows 2, 3, 6, 8: 1100 + 550 + 800 + 300; not the copy (row 4) nor the unknown type (row 7)
    assert paid["total"].to_dict("records") == [{"exchanges": 4, "eur": 2750.0}]
    assert paid["by_type"]["eur"].tolist() == [1400.0, 800.0, 550.0]  # SMEs 1100 + 300, public 800, cluster 550
    assert paid["by_type"]["exchanges"].tolist() == [2, 1, 1]
    assert paid["by_event"]["eur"].to_dict() == {"Event X": 1650.0, "Event Y": 800.0, "Event Z": 300.0}


def test_lump_sums_halve_for_a_short_stay_or_close_hosts(small):
    from cxc_analysis.rules.checks import evaluate_rules

    results = evaluate_rules(small.table)
    kinds = results.lump_sums()["lump_sum"]
    # 2: 5 days, far: full; 3: 3 days; 6: 4 days; 8: 5 days but about 41 km apart
    assert {row: kinds[row] for row in (2, 3, 6, 8)} == {2: "full", 3: "halved", 6: "halved", 8: "halved"}
    by = costs.spending(small.table, results.lump_sums())["by_lump_sum"]
    assert by.to_dict("index") == {"halved": {"exchanges": 3, "eur": 1650.0}, "full": {"exchanges": 1, "eur": 1100.0}}


# --- flows --------------------------------------------------------------------------------

def test_flows_of_the_small_tracker(small):
    table = flows.flow_table(flows.exchange_countries(small.table))
    # usable rows: FR->NL, FR->DE (2, 3), ES->FR, ES->IT (5, 6), BE->BE (8)
    cells = {(h, v): int(table.loc[h, v]) for h in table.index for v in table.columns if table.loc[h, v]}
    assert cells == {("FR", "NL"): 1, ("FR", "DE"): 1, ("ES", "FR"): 1, ("ES", "IT"): 1, ("BE", "BE"): 1}


def test_flows_of_the_bundled_tracker_take_countries_from_the_register(bundled):
    """D5.1: NextMove is French, ARIA Hauts-de-France is in France; the Mission to the Basque Country
    is hosted by the Basque cluster (Spain) and visited by NextMove; "one HO from Spain and five VOs"
    in Barcelona. So 41 exchanges hosted in France, 6 in Spain, and NextMove visits Spain once."""
    countries = flows.exchange_countries(bundled.table, read_register(DEFAULT_REGISTER))
    per = flows.per_country(countries)
    assert per["host"][per["host"] > 0].to_dict() == {"FR": 41, "ES": 6}
    table = flows.flow_table(countries)
    assert table.loc["ES", "FR"] >= 1 and "Unknown" not in table.index
    # visitors named after their country in D5.1's table
    visitor = dict(zip(bundled.table["visiting_org"], countries["visitor"]))
    assert visitor["Ukrainian Automotive and Mobility Cluster"] == "UA"
    assert visitor["Automobiliski klaster Srbije"] == "RS"
    assert visitor["SAMS Norway"] == "NO"
    assert visitor["NextMove"] == "FR"


def test_flows_without_a_register_leave_the_bundled_countries_unknown(bundled):
    """The bundled tracker has no country columns: only the register can give them."""
    countries = flows.exchange_countries(bundled.table)
    assert set(countries["host"]) == {"Unknown"}


# --- progress: pace, projection and the month a target is reached -------------------------

def _first_month_reaching(actual: float, elapsed: int, target: float, total: int) -> float:
    """By counting: the first month m at which actual + pace * (m - elapsed) >= target."""
    pace = actual / elapsed
    for month in range(elapsed, total + 1):
        if actual + pace * (month - elapsed) >= target - 1e-9:
            return float(month) if month > elapsed or actual < target else 0.0
    return math.nan


@pytest.mark.parametrize("actual, elapsed, target, total", [
    (42, 12, 80, 24),  # D5.1: 42 of 80 after M12, project of 24 months: M23
    (7, 10, 10, 24),  # 0.7 a month: 9.8 at M14, 10.5 at M15 (rounding would say M14)
    (7, 10, 9, 24),  # 8.4 at M12, 9.1 at M13
    (3, 5, 12, 10), (10, 5, 20, 10), (5, 10, 5, 24), (1, 12, 50, 24),
])
def test_reached_month_is_the_first_month_at_or_over_the_target(actual, elapsed, target, total):
    kpis = pd.DataFrame({"actual": [actual], "target": pd.array([target], dtype="Int64")}, index=["exchanges"])
    out = progress.project_kpis(kpis, elapsed, total).loc["exchanges"]
    expected = _first_month_reaching(actual, elapsed, target, total)
    assert (math.isnan(out["reached_month"]) and math.isnan(expected)) or out["reached_month"] == expected
    assert out["pace"] == pytest.approx(actual / elapsed)
    assert out["projected"] == pytest.approx(actual + actual / elapsed * (total - elapsed))


def test_remobilise_projection_from_d51():
    """D5.1: 42 completed after M12 of 24: 3.5 a month, 84 by M24; SMEs 18 of 40: 36 by M24,
    22 more needed in 12 months."""
    k = pd.DataFrame({"actual": [42, 18], "target": pd.array([80, 40], dtype="Int64")}, index=["exchanges", "sme"])
    out = progress.project_kpis(k, 12, 24)
    assert out.loc["exchanges", ["pace", "projected", "reached_month"]].tolist() == [3.5, 84.0, 23.0]
    assert out.loc["sme", "projected"] == 36.0 and out.loc["sme", "needed_per_month"] == pytest.approx(22 / 12)


@pytest.mark.parametrize("label, month", [
    ("January 2023", 12),  # D5.1: "the status after M12 (January 2023)"
    ("February 2022", 1), ("March 2022", 2), ("December 2022", 11), ("2023-01", 12), ("Jan 2024", 24),
])
def test_months_elapsed_from_a_calendar_month(label, month):
    project = progress.read_project(DEFAULT_TARGETS)
    assert progress.months_elapsed(progress.read_period(label), project) == month


def test_a_period_before_the_project_says_nothing():
    project = progress.read_project(DEFAULT_TARGETS)
    assert progress.months_elapsed(progress.read_period("January 2022"), project) is None


def test_a_completed_exchange_counts_in_the_month_it_ended():
    # project from February 2022 (M1): 30 March - 2 April 2022 ended in April, M3; one without an end
    # date counts in its start month (May 2022, M4); a pending one and an excluded one count nowhere
    table = pd.DataFrame({"status": ["completed", "completed", "pending", "completed"],
                          "excluded": [False, False, False, True],
                          "start_date": pd.to_datetime(["2022-03-30", "2022-05-31", "2022-03-01", "2022-03-01"]),
                          "end_date": pd.to_datetime(["2022-04-02", None, "2022-03-04", "2022-03-04"])})
    assert progress.completed_by_month(table, dt.date(2022, 2, 1)).to_dict() == {3: 1, 4: 1}


def test_months_elapsed_from_dated_exchanges_is_the_last_dated_month():
    table = pd.DataFrame({"status": ["completed"] * 2, "excluded": [False] * 2,
                          "start_date": pd.to_datetime(["2022-02-07", "2022-12-05"]),
                          "end_date": pd.to_datetime(["2022-02-11", "2023-01-03"])})  # ends in January 2023: M12
    dated = progress.completed_by_month(table, dt.date(2022, 2, 1))
    assert progress.months_elapsed(progress.read_period("Year one"), None, dated) == 12


# --- since the last report (--previous) ---------------------------------------------------

def _exchanges(rows, statuses=None, ids=None):
    n = len(rows)
    return pd.DataFrame({"source_row": list(range(2, 2 + n)), "exchange_id": ids or [None] * n,
                         "host_org": [r[0] for r in rows], "visiting_org": [r[1] for r in rows],
                         "event": [r[2] for r in rows], "status": statuses or ["completed"] * n,
                         "status_text": statuses or ["Completed"] * n})


def test_two_current_rows_for_one_earlier_row_are_uncertain():
    previous = _exchanges([("H", "V", "E")])
    current = _exchanges([("H", "V", "E"), ("h", "v", "e")])
    matches = compare.match_exchanges(previous, current)
    assert matches[["previous_row", "row", "match"]].values.tolist() == [[2, 2, "uncertain"]]
    assert compare.added(current, matches)["source_row"].tolist() == [3]


def test_one_id_on_two_current_rows_is_uncertain():
    previous = _exchanges([("H", "V", "E")], ids=["EG123AB4"])
    current = _exchanges([("H", "V", "E"), ("H", "V", "F")], ids=["EG123AB4", "EG123AB4"])
    matches = compare.match_exchanges(previous, current)
    assert matches.loc[matches["previous_row"] == 2, "match"].tolist() == ["uncertain"]


def test_a_unique_pair_is_certain():
    previous = _exchanges([("H", "V", "E"), ("H", "W", "E")])
    current = _exchanges([("H", "W", "E"), ("H", "V", "E")])
    matches = compare.match_exchanges(previous, current)
    assert matches[["previous_row", "row", "match"]].values.tolist() == [[2, 3, "HO + VO + event"],
                                                                         [3, 2, "HO + VO + event"]]


def test_only_real_status_changes_are_counted():
    # rows: pending -> completed (a change), unknown -> unknown (none), completed -> completed (none),
    # completed -> unknown (a change: a reviewer must see it)
    previous = _exchanges([("H", "A", "E"), ("H", "B", "E"), ("H", "C", "E"), ("H", "D", "E")],
                          statuses=["pending", None, "completed", "completed"])
    current = _exchanges([("H", "A", "E"), ("H", "B", "E"), ("H", "C", "E"), ("H", "D", "E")],
                         statuses=["completed", None, "completed", None])
    changes = compare.status_changes(previous, current, compare.match_exchanges(previous, current))
    assert changes["visiting_org"].tolist() == ["A", "D"]
    assert changes.loc[0, ["was", "now"]].tolist() == ["pending", "completed"]


def test_kpi_changes_are_now_minus_earlier():
    earlier = pd.DataFrame({"actual": [40, 18]}, index=["exchanges", "sme"])
    now = pd.DataFrame({"actual": [42, 17]}, index=["exchanges", "sme"])
    assert compare.kpi_changes(earlier, now).to_dict("index") == {
        "exchanges": {"earlier": 40, "now": 42, "change": 2}, "sme": {"earlier": 18, "now": 17, "change": -1}}


def test_gone_rows_are_those_without_a_match():
    previous = _exchanges([("H", "A", "E"), ("H", "B", "E")])
    current = _exchanges([("H", "A", "E")])
    assert compare.gone(previous, compare.match_exchanges(previous, current))["visiting_org"].tolist() == ["B"]


# --- the bundled D5.1 tracker: every figure of "Significant results" ----------------------

def test_bundled_figures_from_d51(bundled):
    """D5.1: 42 completed and 5 pending, the Barcelona group exchange ("one HO from Spain and five
    VOs ... we are actually at 47 exchanges")."""
    table = bundled.table
    assert len(table) == 47 and int(table["excluded"].fillna(False).sum()) == 0
    pending = table[table["status"] == "pending"]
    assert pending["event"].unique().tolist() == ["Smart City Expo Barcelona"]
    assert pending["host_org"].unique().tolist() == ["Instituto Aragones del Fomento"]


# --- the words that decide completed or pending, read by a person who knows the languages --

# Every status word of the vocabulary, written out here as a partner would type it, with what it
# means; a word moved from one meaning to the other changes the KPIs, and one of these fails.
COMPLETED = [
    "Completed", "complete", "Done", "finished", "closed", "concluded", "carried out",
    "Terminé", "terminée", "réalisé", "Réalisée", "achevé", "achevée", "clôturé", "clôturée", "effectué",
    "effectuée", "complété",
    "Abgeschlossen", "erledigt", "beendet", "durchgeführt", "durchgefuehrt", "fertig",
    "Completado", "completada", "finalizado", "finalizada", "terminado", "terminada", "realizado", "realizada",
    "concluido", "concluida",
    "Completato", "completata", "concluso", "conclusa", "terminato", "terminata", "realizzato", "realizzata",
    "chiuso", "chiusa",
    "Afgerond", "voltooid", "voltooide", "uitgevoerd", "klaar", "afgesloten",
    "Concluído", "concluída", "finalizado", "terminada",
]
PENDING = [
    "Pending", "waiting for final activity report", "Waiting for final report", "waiting for the final activity report",
    "ongoing", "in progress", "planned", "scheduled", "approved", "established", "draft", "submitted", "waiting",
    "open", "final report pending", "final activity report pending", "awaiting final activity report",
    "awaiting final report", "awaiting",
    "En attente", "en attente du rapport final", "en attente du rapport final d'activité", "en cours", "prévu",
    "planifié", "approuvé", "soumis", "rapport final en attente", "en attente du rapport d'activité final",
    "Ausstehend", "offen", "in Bearbeitung", "laufend", "geplant", "genehmigt", "eingereicht",
    "warten auf Abschlussbericht", "wartet auf den Abschlussbericht", "Abschlussbericht ausstehend",
    "warten auf den Abschlussbericht", "warten auf den abschließenden Tätigkeitsbericht",
    "warten auf Tätigkeitsabschlussbericht",
    "Pendiente", "en curso", "en espera", "en espera del informe final", "previsto", "planificado", "aprobado",
    "pendiente del informe final", "a la espera del informe final", "a la espera del informe final de actividad",
    "esperando el informe final de actividad", "en espera del informe final de actividad",
    "In attesa", "in attesa del rapporto finale", "in corso", "pianificato", "previsto", "approvato", "in sospeso",
    "in attesa della relazione finale", "in attesa della relazione finale di attività",
    "in attesa della relazione finale sulle attività",
    "In behandeling", "lopend", "gepland", "wachtend op eindrapport", "in afwachting van het eindverslag",
    "goedgekeurd", "openstaand", "wacht op eindrapport", "wachten op eindverslag",
    "in afwachting van het eindrapport", "wachten op het eindrapport", "wacht op eindactiviteitenverslag",
    "wacht op eindverslag",
    "Pendente", "em curso", "em andamento", "a aguardar o relatório final", "aguardando relatório final",
    "planeado", "planejado", "aprovado", "aguarda relatório final", "a aguardar relatório final de atividade",
    "aguardando o relatório final de atividades",
]
CANCELLED = [
    "Cancelled", "canceled", "called off", "withdrawn", "annulled", "did not take place", "not taking place",
    "Annulé", "annulée", "annulation", "n'a pas eu lieu",
    "Storniert", "abgesagt", "annulliert", "hat nicht stattgefunden", "findet nicht statt",
    "Cancelado", "cancelada", "anulado", "anulada", "no se realizó",
    "Annullato", "annullata", "cancellato", "cancellata", "disdetto", "disdetta", "non effettuato", "non svolto",
    "Geannuleerd", "afgelast", "ingetrokken", "gaat niet door", "niet doorgegaan",
    "não realizado",
]


def test_every_status_word_means_what_it_says():
    from cxc_analysis.read.vocabulary import load_vocabulary

    status = load_vocabulary().status
    wrong = {word: status(word) for word in COMPLETED if status(word) != "completed"}
    wrong.update({word: status(word) for word in PENDING if status(word) != "pending"})
    wrong.update({word: status(word) for word in CANCELLED if status(word) != "cancelled"})
    assert wrong == {}
    for word in ("rejected", "maybe", "see remarks"):
        assert status(word) is None, word  # no status: an unknown label, an error


def test_every_status_word_of_the_vocabulary_is_in_the_lists_above():
    """A word added to the vocabulary gets its meaning written here too."""
    from cxc_analysis.read.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()
    listed = {vocabulary.label_key(w) for w in COMPLETED + PENDING + CANCELLED}
    assert set(vocabulary.labels["status"]) <= listed


@pytest.mark.parametrize("text, code", [
    ("Cluster organisation", "cluster_organisation"), ("Pôle de compétitivité", "cluster_organisation"),
    ("Clusterorganisation", "cluster_organisation"), ("Agrupación empresarial innovadora", "cluster_organisation"),
    ("Distretto tecnologico", "cluster_organisation"), ("Clusterorganisatie", "cluster_organisation"),
    ("SME", "sme"), ("PME", "sme"), ("KMU", "sme"), ("PYME", "sme"), ("PMI", "sme"), ("MKB", "sme"),
    ("Kleine und mittlere Unternehmen", "sme"), ("microempresa", "sme"),
    ("Scale-up support organisation", "scaling_up_support_organisation"),
    ("Organisation de soutien à la croissance", "scaling_up_support_organisation"),
    ("Aceleradora", "scaling_up_support_organisation"),
    ("Large company", "large_company"), ("Grande entreprise", "large_company"), ("Großunternehmen", "large_company"),
    ("Gran empresa", "large_company"), ("Grande impresa", "large_company"), ("Groot bedrijf", "large_company"),
    ("Public authority", "public_authority"), ("Autorité publique", "public_authority"),
    ("Behörde", "public_authority"), ("Administración pública", "public_authority"),
    ("Pubblica amministrazione", "public_authority"), ("Overheid", "public_authority"),
    ("Inside", "inside"), ("innerhalb", "inside"), ("Hors partenariat", "outside"), ("außerhalb", "outside"),
    ("fuera", "outside"), ("binnen", "inside"), ("buiten", "outside"), ("esterno", "outside"),
])
def test_entity_and_partnership_words_mean_what_they_say(text, code):
    from cxc_analysis.read.vocabulary import load_vocabulary

    field = "partnership" if code in ("inside", "outside") else "vo_entity_type"
    assert load_vocabulary().label(field, text) == code


# --- progress: the sentences and the edges of the arithmetic ------------------------------

@pytest.mark.parametrize("actual, elapsed, target, total, reached, needed", [
    (9, 10, 10, 24, 12.0, None),  # short by 1: 0.9 a month, 9.9 at M11, 10.8 at M12
    (10, 10, 10, 24, 0.0, None),  # reached already
    (12, 10, 10, 24, 0.0, None),  # over it
    (2, 10, 10, 24, None, 8 / 14),  # 2.8 by M24: 8 more in 14 months
    (2, 24, 10, 24, None, None),  # no months left: nothing "needed a month"
    (2, 30, 10, 24, None, None),  # a period past the end: no months left, projected = actual
])
def test_reached_month_and_needed_per_month_at_the_edges(actual, elapsed, target, total, reached, needed):
    k = pd.DataFrame({"actual": [actual], "target": pd.array([target], dtype="Int64")}, index=["exchanges"])
    out = progress.project_kpis(k, elapsed, total).loc["exchanges"]
    assert (math.isnan(out["reached_month"]) if reached is None else out["reached_month"] == reached)
    assert (math.isnan(out["needed_per_month"]) if needed is None else out["needed_per_month"] == pytest.approx(needed))
    if elapsed >= total:
        assert out["projected"] == actual


def test_no_target_has_no_month_and_nothing_needed():
    k = pd.DataFrame({"actual": [6], "target": pd.array([None], dtype="Int64")}, index=["sme"])
    out = progress.project_kpis(k, 12, 24).loc["sme"]
    assert math.isnan(out["target"]) and math.isnan(out["reached_month"]) and math.isnan(out["needed_per_month"])
    assert out["projected"] == 12.0


@pytest.mark.parametrize("actual, elapsed, target, text", [
    (42, 12, 80, "on course: target reached about M23 (December 2023), about 84 by M24"),
    (90, 12, 80, "target already reached"),
    (18, 12, 40, "not at this pace: about 36 of 40 by M24; 1.8 a month needed from now"),
    (18, 24, 40, "not reached: 18 of 40 and no months left"),
    (6, 12, None, "no target; about 12 by M24 at this pace"),
])
def test_verdict_sentences(actual, elapsed, target, text):
    k = pd.DataFrame({"actual": [actual], "target": pd.array([target], dtype="Int64")}, index=["exchanges"])
    row = progress.project_kpis(k, elapsed, 24).loc["exchanges"]
    assert progress.verdict(row, 24, dt.date(2022, 2, 1)) == text


def test_month_numbers_and_dates_of_remobilise():
    start = dt.date(2022, 2, 1)  # D5.1: M1 February 2022, M12 January 2023, M24 January 2024
    assert [progress.month_date(m, start) for m in (1, 11, 12, 24)] == [
        dt.date(2022, 2, 1), dt.date(2022, 12, 1), dt.date(2023, 1, 1), dt.date(2024, 1, 1)]
    assert [progress.month_number(d, start) for d in (dt.date(2022, 2, 28), dt.date(2023, 1, 1),
                                                      dt.date(2024, 1, 31))] == [1, 12, 24]


@pytest.mark.parametrize("label, month, date", [
    ("M 12", 12, None), ("m12", 12, None), ("M0", None, None), ("Sep. 2023", None, dt.date(2023, 9, 1)),
    ("december 2022", None, dt.date(2022, 12, 1)), ("2023-13", None, None), ("2023-9", None, dt.date(2023, 9, 1)),
    ("Report M18, July 2023", 18, dt.date(2023, 7, 1)), (None, None, None),
])
def test_more_period_labels(label, month, date):
    period = progress.read_period(label)
    assert (period.month, period.date) == (month, date)


def test_months_elapsed_without_project_dates():
    dated = pd.Series({3: 1, 7: 2})
    assert progress.months_elapsed(progress.read_period("June 2022"), None) is None
    assert progress.months_elapsed(progress.read_period("June 2022"), None, dated) == 7
    assert progress.months_elapsed(progress.read_period("M5"), None, dated) == 5


def test_completed_by_month_needs_both_date_columns():
    table = pd.DataFrame({"status": ["completed"], "excluded": [False], "start_date": pd.to_datetime(["2022-03-01"])})
    assert progress.completed_by_month(table, dt.date(2022, 2, 1)).empty


@pytest.mark.parametrize("block, months", [
    ("{start: 2022-02, end: 2024-01}", 24), ("{start: '2022-2', end: '2022-02'}", 1),
    ("{start: 2022-02-15, end: 2023-01-31}", 12),
])
def test_read_project(tmp_path, block, months):
    path = tmp_path / "targets.yaml"
    path.write_text(f"targets: {{exchanges: 10}}\nproject: {block}\n", encoding="utf-8")
    assert progress.read_project(path).months == months


@pytest.mark.parametrize("block, words", [
    ("{start: 2022-02}", "'start' and 'end'"), ("{start: 2022-13, end: 2024-01}", "month like"),
    ("{start: 2024-02, end: 2024-01}", "before its 'start'"), ("2022-02", "'start' and 'end'"),
])
def test_read_project_refuses_what_is_no_project(tmp_path, block, words):
    from cxc_analysis.core.errors import InputError

    path = tmp_path / "targets.yaml"
    path.write_text(f"project: {block}\n", encoding="utf-8")
    with pytest.raises(InputError, match=words):
        progress.read_project(path)


def test_read_project_without_a_block_is_none(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("targets: {exchanges: 10}\n", encoding="utf-8")
    assert progress.read_project(path) is None


@pytest.mark.parametrize("text, budget", [("budget_eur: 88000", 88000.0), ("budget_eur: 0", 0.0),
                                          ("budget_eur: 1234.5", 1234.5), ("targets: {}", None)])
def test_read_budget(tmp_path, text, budget):
    path = tmp_path / "targets.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    assert costs.read_budget(path) == budget
    assert costs.read_budget(None) is None


@pytest.mark.parametrize("text", ["budget_eur: -1", "budget_eur: true", "budget_eur: lots"])
def test_read_budget_refuses_what_is_no_amount(tmp_path, text):
    from cxc_analysis.core.errors import InputError

    path = tmp_path / "targets.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="budget_eur"):
        costs.read_budget(path)


# --- breakdowns and support paid at their edges -------------------------------------------

def test_breakdowns_keep_empty_categories_and_missing_values():
    from cxc_analysis.kpis import breakdown

    types = pd.Categorical(["sme", "sme", None, "sme"], categories=["cluster_organisation", "sme"])
    t = pd.DataFrame({"vo_entity_type": types, "event": ["A", None, "A", "B"], "status": ["completed"] * 4,
                      "excluded": [False, False, False, True]})
    by_type = breakdown(t, "vo_entity_type")
    assert list(by_type.columns) == ["count"]
    assert by_type["count"].tolist() == [0, 2, 1]  # no cluster organisation, 2 SMEs, 1 without a type
    assert by_type.index[:2].tolist() == ["cluster_organisation", "sme"] and pd.isna(by_type.index[2])
    cross = breakdown(t, "event", "vo_entity_type")
    assert list(cross.columns) == ["cluster_organisation", "sme"] and int(cross.to_numpy().sum()) == 2
    assert cross.loc["A", "cluster_organisation"] == 0 and cross.loc["A", "sme"] == 1


def test_support_paid_without_an_amount_column_is_nothing():
    t = pd.DataFrame({"source_row": [2, 3], "vo_entity_type": ["sme", "sme"], "event": ["E", "E"],
                      "excluded": [False, False]})
    assert costs.spending(t)["total"].to_dict("records") == [{"exchanges": 0, "eur": 0.0}]


# --- which targets file, project and budget apply; labels of what has no type or event -----

def test_project_and_budget_come_from_the_partnerships_own_targets_file(tmp_path):
    # the bundled file is REMOBILISE's (D5.1: 24 months from February 2022); no budget is stated in it
    assert progress.project_for("REMOBILISE").months == 24 and progress.project_for("remobilise").months == 24
    assert progress.project_for("OTHERNET") is None and costs.budget_for("OTHERNET") is None
    assert costs.budget_for("REMOBILISE") is None
    own = tmp_path / "own.yaml"
    own.write_text("budget_eur: 60000\nproject: {start: 2023-09, end: 2025-08}\n", encoding="utf-8")
    assert progress.project_for("OTHERNET", own).months == 24 and costs.budget_for("OTHERNET", own) == 60000.0
    assert progress.project_for("REMOBILISE", own).start == dt.date(2023, 9, 1)  # the given file wins


def test_errors_in_the_targets_file_name_it(tmp_path):
    from cxc_analysis.core.errors import InputError

    for text in ("budget_eur: -5\n", "project: {start: 2022-02}\n", "project: {start: 2022-02, end: 2021-01}\n",
                 "project: {start: 2022-00, end: 2024-01}\n"):
        path = tmp_path / "targets.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as raised:
            (costs.read_budget if "budget" in text else progress.read_project)(path)
        assert raised.value.file is not None and str(path) in str(raised.value)
    path.write_text("project: {start: 2022-02, end: 2022-13}\n", encoding="utf-8")
    with pytest.raises(InputError, match="project 'end' must be a month"):
        progress.read_project(path)


def test_a_project_ending_in_december_and_its_source(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("project: {start: 2022-01, end: 2022-12, source: GA annex 1}\n", encoding="utf-8")
    project = progress.read_project(path)
    assert (project.months, project.source) == (12, "GA annex 1")
    path.write_text("project: {start: 2022-01, end: 2022-12}\n", encoding="utf-8")
    assert progress.read_project(path).source == ""


@pytest.mark.parametrize("label, month, date", [("M1", 1, None), ("2023-12", None, dt.date(2023, 12, 1)),
                                                ("December 2023", None, dt.date(2023, 12, 1))])
def test_first_month_and_december_labels(label, month, date):
    period = progress.read_period(label)
    assert (period.month, period.date, period.label) == (month, date, label)
    assert progress.read_period(None).label == "" and progress.read_period(None).name == ""


def test_verdict_without_a_start_date_names_the_month_only():
    k = pd.DataFrame({"actual": [42], "target": pd.array([80], dtype="Int64")}, index=["exchanges"])
    row = progress.project_kpis(k, 12, 24).loc["exchanges"]
    assert progress.verdict(row, 24) == "on course: target reached about M23, about 84 by M24"


def test_needed_per_month_when_one_short_and_when_none_is_short():
    k = pd.DataFrame({"actual": [0, 5], "target": pd.array([1, 5], dtype="Int64")}, index=["sme", "exchanges"])
    out = progress.project_kpis(k, 12, 24)  # none yet, one needed: 1 in 12 months; 5 of 5: reached
    assert out.loc["sme", "needed_per_month"] == pytest.approx(1 / 12)
    assert math.isnan(out.loc["exchanges", "needed_per_month"]) and out.loc["exchanges", "reached_month"] == 0


def test_too_little_reasons_are_plain_words():
    assert progress.too_little_reason(None, None) == (
        "the project start and end are not known (the targets file can give them: project: start, end)")
    assert progress.too_little_reason(progress.Project(dt.date(2022, 2, 1), dt.date(2024, 1, 1)), None) == (
        "the period label gives no month (such as M12 or January 2023) and the tracker has no exchange dates")


def test_a_missing_exclusion_flag_counts_and_a_target_of_one_has_a_percentage():
    t = pd.DataFrame({"status": ["completed", "completed"], "partnership": ["outside", "inside"],
                      "vo_entity_type": ["sme", "sme"], "excluded": pd.array([pd.NA, True], dtype="boolean")})
    frame = kpi_table(t, {"exchanges": 1})
    assert kpi_json(frame)["actual"]["exchanges"] == 1 and kpi_json(frame)["actual"]["outside_partnership"] == 1
    assert frame.loc["exchanges", "pct_of_target"] == 100.0 and frame.index.name == "kpi"
    assert list(frame.index) == ["exchanges", "outside_partnership", "cluster_organisation", "sme",
                                 "scaling_up_support_organisation", "large_company", "public_authority"]


def test_support_paid_names_what_has_no_type_or_event_and_ties_keep_their_order():
    t = pd.DataFrame({"source_row": [2, 3, 4], "vo_entity_type": [None, "sme", "large_company"],
                      "event": [None, "B", "A"], "amount_eur": [500.0, 500.0, 500.0], "excluded": [False] * 3})
    paid = costs.spending(t)
    assert paid["by_type"].index.tolist() == ["Large company", "SME", "Type unknown"]  # equal sums: by name
    assert paid["by_event"].index.tolist() == ["(no event)", "A", "B"]
    assert paid["by_lump_sum"].to_dict("index") == {"cannot tell: not checked against the rules": {"exchanges": 3, "eur": 1500.0}}


def test_project_months_read_from_yaml_dates_start_on_the_first(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("project: {start: 2022-02-15, end: 2024-01-31}\n", encoding="utf-8")
    assert (progress.read_project(path).start, progress.read_project(path).end) == (dt.date(2022, 2, 1),
                                                                                  dt.date(2024, 1, 1))


@pytest.mark.parametrize("block, words", [
    ("{end: 2024-01}", "'project' must give 'start' and 'end' months"),
    ("{start: 2022-13, end: 2024-01}", "project 'start' must be a month like 2022-02"),
    ("{start: 2022-02, end: 24}", "project 'end' must be a month like 2022-02"),
    ("{start: 2024-02, end: 2024-01}", "project 'end' is before its 'start'"),
])
def test_read_project_messages_name_the_key_and_the_file(tmp_path, block, words):
    from cxc_analysis.core.errors import InputError

    path = tmp_path / "targets.yaml"
    path.write_text(f"project: {block}\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        progress.read_project(path)
    assert raised.value.message.startswith(words) and raised.value.file == path


def test_a_missing_exclusion_flag_counts_in_breakdowns_and_support_paid():
    from cxc_analysis.kpis import breakdown

    t = pd.DataFrame({"source_row": [2, 3], "vo_entity_type": ["sme", "sme"], "event": ["E", "E"],
                      "status": ["completed"] * 2, "amount_eur": [100.0, 200.0],
                      "excluded": pd.array([pd.NA, True], dtype="boolean")})
    assert breakdown(t, "event")["count"].tolist() == [1]
    assert costs.spending(t)["total"].to_dict("records") == [{"exchanges": 1, "eur": 100.0}]
