"""What a reviewer reads (issue 18): plain words instead of codes, a reason beside every "cannot
check" count, long texts cut in the HTML and PDF, the rule set's period and its sources by number."""
import re

import pandas as pd

from cxc_analysis.reference import rulesets
from cxc_analysis.report.sections import present
from cxc_analysis.rules import checks as rules


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_rule_counts_show_plain_words_and_why_beside_cannot_check():
    table = pd.DataFrame({"source_row": [2, 3, 4], "host_org": ["H", "H", "H"], "visiting_org": ["A", "B", "C"],
                          "event": ["E", "E", "E"], "vo_entity_type": ["sme", "sme", "cluster_organisation"],
                          "ho_country": ["FR", "FR", None], "vo_country": ["NL", None, "NL"]})
    evaluated = rules.evaluate_rules(table)
    frame = evaluated.frame()
    page = present.rules_html(rules.rule_summary(frame), frame, evaluated.reasons())
    assert "cross_border" not in page and "max_support" not in page
    row = re.search(r"<tr><td[^>]*>Cross-border</td>.*?</tr>", page, re.S).group(0)
    # 1 pass, 0 fail, 0 warnings, 2 cannot check: one visitor country and one host country unknown
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["1", "0", "0", "2"]
    assert "1 visitor country unknown (not in the tracker)" in row and "1 host country unknown" in row
    amounts = re.search(r"<tr><td[^>]*>Maximum support</td>.*?</tr>", page, re.S).group(0)
    assert "3 no amount" in amounts


def test_findings_show_problems_in_plain_words():
    findings = pd.DataFrame({"row": [4], "column": ["Type"], "severity": ["error"], "code": ["unknown_label"],
                             "message": ["unknown label 'Robot'"]})
    page = present.findings_html(findings)
    assert "unknown_label" not in page and "Label not recognised" in page and ">Error<" in page


def test_long_remarks_are_cut_in_the_html_and_say_where_they_are_whole():
    table = pd.DataFrame({"source_row": [2], "exchange_id": ["EG123AB4"], "host_org": ["H"], "visiting_org": ["V"],
                          "vo_entity_type": ["sme"], "partnership": ["inside"], "event": ["E"],
                          "status_text": ["Completed"], "remarks": ["x" * 32_767], "excluded": [False]})
    page = present.appendix_html(table)
    assert "x" * present.CELL_CHARS in page and "x" * (present.CELL_CHARS + 1) not in page
    assert f"{32_767 - present.CELL_CHARS:,} more characters, whole in report.xlsx" in page
    assert len(page) < 5_000  # one row of a 32,767-character remark stays a line, not pages


def test_rule_set_shows_its_period_sources_by_number_and_no_keys():
    rule_set = rulesets.read_rule_set()
    table = pd.DataFrame({"start_date": pd.to_datetime(["2023-05-01", "2025-02-03", "2025-03-03", None])})
    page = present.rule_set_html(rule_set)
    words = text_of(page)
    assert "Period: exchanges of 2022 to 2024" in words
    note = text_of(present.period_html(rule_set, table))
    assert "2 exchanges start outside it (in 2025) and were checked against it all the same" in note
    for key in rule_set.sources:
        if not key.isalpha():
            # a source named in a note is shown by its number (a key may be part of a URL: horizon2020news.it)
            assert not re.search(rf"\b{key}\b(?![./])", words), key
    assert "seed" not in words and "REMOBILISE's" not in words and "grant-agreement targets" not in words
    assert "training providers" in words and "cluster_organisation" not in words
    assert present.period_html(rule_set, table.iloc[[0, 3]]) == ""  # all inside: nothing to note


def test_cost_section_says_what_is_missing_for_cannot_tell():
    table = pd.DataFrame({"source_row": [2, 3], "vo_entity_type": ["sme", "sme"], "event": ["E", "E"],
                          "amount_eur": [1100.0, 800.0], "excluded": [False, False]})
    lump = pd.DataFrame({"lump_sum": ["full", "cannot tell"], "why": ["", "no end date"]}, index=[2, 3])
    page = present.spending_html(present_spending(table, lump), table)
    assert "cannot tell: no end date" in page and "no dates or cities" not in page


def present_spending(table, lump):
    from cxc_analysis.report.sections.costs import spending

    return spending(table, lump)
