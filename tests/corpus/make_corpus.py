"""Build a corpus of partner trackers from the bundled D5.1 rows, as partners would write them.

Independent of the library on purpose: it reads the D5.1 appendix with openpyxl, the wordings
from ``translations.yaml`` next to this file (written without looking at the library's own
vocabulary), and writes trackers in the programme's languages, header orders, label mixes,
number and date formats. It never imports ``cxc_analysis`` (not ``synth``, not the vocabulary).

    python tests/corpus/make_corpus.py OUT_DIR

writes the trackers into OUT_DIR plus ``golden.json``: per file the figures it must give
(KPIs, pending, the amount and dates of every row, the rows over the €1,100 maximum, the rows
whose amount is ambiguous) and, for trackers with headers no vocabulary could know, the name of
its column map (``{field: header}`` YAML, for ``--columns``). Same code, same files: every
choice is drawn from a seeded ``random.Random``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
D51 = ROOT / "data" / "raw" / "remobilise_d51_exchanges.xlsx"
LANGS = ("en", "fr", "de", "es", "it", "nl", "pt")
SEED = 20220905
D51_FIELDS = ("exchange_id", "host_org", "visiting_org", "vo_entity_type", "partnership", "event",
              "status", "remarks")
FIELDS = D51_FIELDS + ("start_date", "end_date", "amount_eur")

ENTITY_TYPES = {"cluster organisation": "cluster_organisation", "sme": "sme",
                "scaling-up support organisation": "scaling_up_support_organisation",
                "large company": "large_company", "public authority": "public_authority"}
PARTNERSHIPS = {"inside": "inside", "outside": "outside"}
STATUSES = {"completed": "completed",
            "completed, but without the it tool": "completed_without_it_tool",
            "waiting for final activity report": "waiting_final_report"}
REMARKS = {"established without it tool": "without_it_tool",
           "has not made use of the lump sum": "lump_sum_not_used"}

# Plausible exchange dates per D5.1 event (Monday-Friday weeks around the real fairs:
# Equip Auto Paris 18-22 Oct 2022, JEC World Paris 25-27 Apr 2023, Smart City Expo 7-9 Nov 2023).
EVENT_DATES = {
    "Cluster Mission in Paris": [(dt.date(2022, 9, 5), dt.date(2022, 9, 9)),
                                 (dt.date(2022, 9, 6), dt.date(2022, 9, 9))],
    "Equip Auto": [(dt.date(2022, 10, 17), dt.date(2022, 10, 21)),
                   (dt.date(2022, 10, 18), dt.date(2022, 10, 21))],
    "Innovation Mission Hauts-de-France": [(dt.date(2022, 11, 14), dt.date(2022, 11, 18)),
                                           (dt.date(2022, 11, 15), dt.date(2022, 11, 18))],
    "JEC Paris": [(dt.date(2023, 4, 24), dt.date(2023, 4, 28)),
                  (dt.date(2023, 4, 25), dt.date(2023, 4, 28))],
    "Mission to the Basque Country": [(dt.date(2023, 6, 12), dt.date(2023, 6, 16))],
    "Smart City Expo Barcelona": [(dt.date(2023, 11, 6), dt.date(2023, 11, 10)),
                                  (dt.date(2023, 11, 7), dt.date(2023, 11, 10))],
}
LUMP_SUMS = (550, 825, 900, 1000, 1100, 1100)
OVER_MAXIMUM = ("Aniform", 1500)          # the one visitor paid over the €1,100 maximum

TITLES = {"en": "ClusterXchange exchanges - overview", "fr": "Échanges ClusterXchange - suivi",
          "de": "ClusterXchange-Austausche - Übersicht", "es": "Intercambios ClusterXchange - seguimiento",
          "it": "Scambi ClusterXchange - monitoraggio", "nl": "ClusterXchange-uitwisselingen - overzicht",
          "pt": "Intercâmbios ClusterXchange - acompanhamento"}

# Headers whose words are in another order, with the role qualifier moved (before, after, spelled out).
PERMUTED = {
    "permuted_en.xlsx": {
        "exchange_id": "No. of exchange", "host_org": "Organisation (host)",
        "visiting_org": "Organisation (visiting)", "vo_entity_type": "Visitor's entity type",
        "partnership": "Partnership: inside / outside", "event": "Exchange (group)",
        "status": "Status of the exchange", "remarks": "Remarks/comments",
        "start_date": "Date (start)", "end_date": "Date (end)", "amount_eur": "EUR amount"},
    "permuted_qualifier_first.xlsx": {
        "exchange_id": "ID of exchange", "host_org": "HO organisation",
        "visiting_org": "VO organisation", "vo_entity_type": "VO: type of entity",
        "partnership": "Partnership inside or outside", "event": "Event / group exchange",
        "status": "Exchange status", "remarks": "Comments",
        "start_date": "Exchange start", "end_date": "Exchange end", "amount_eur": "€ amount"},
    "permuted_multi.xlsx": {
        "exchange_id": "Échange n°", "host_org": "OA - Organisation d'accueil",
        "visiting_org": "Organización visitante", "vo_entity_type": "OV – Tipologia ente",
        "partnership": "Partnerschap binnen/buiten", "event": "Evento / intercâmbio de grupo",
        "status": "Statut", "remarks": "Bemerkungen",
        "start_date": "Début (date)", "end_date": "Fin (date)", "amount_eur": "Bedrag EUR"},
}

# Headers no vocabulary could know: given to the tool with --columns.
UNKNOWABLE = {
    "columns_spalten.xlsx": {f: f"Spalte {chr(ord('A') + i)}" for i, f in enumerate(FIELDS)},
    "columns_codes.csv": dict(zip(FIELDS, ("K01", "ORG_H", "ORG_V", "CAT_V", "PSHIP", "ACT",
                                           "STAT", "NB", "D_IN", "D_OUT", "EUR_PAID"))),
}


def file_names() -> list[str]:
    """The trackers build() writes, in a fixed order (the test ids)."""
    return ([f"{lang}_{v}.xlsx" for lang in LANGS for v in (1, 2, 3)]
            + ["de_export.csv", "fr_export.csv", "en_vo_suffix.xlsx", "mixed_labels.xlsx", *PERMUTED,
               "amounts_mixed.xlsx", "amounts_no_evidence.csv", *UNKNOWABLE])


def read_d51(path: Path = D51) -> list[dict]:
    """The 47 D5.1 rows as dicts of canonical field -> English value (header on row 3)."""
    ws = openpyxl.load_workbook(path, read_only=True)["Exchanges"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if any(v is not None for v in r)]
    return [dict(zip(D51_FIELDS, r)) for r in rows]


def load_translations() -> dict:
    """The wordings per language, from translations.yaml next to this file."""
    return yaml.safe_load((HERE / "translations.yaml").read_text(encoding="utf-8"))


def meanings(row: dict) -> dict:
    """A D5.1 row's labels as canonical keys, e.g. {'vo_entity_type': 'sme', ...}."""
    remark = (row["remarks"] or "").strip().lower()
    return {"vo_entity_type": ENTITY_TYPES[row["vo_entity_type"].strip().lower()],
            "partnership": PARTNERSHIPS[row["partnership"].strip().lower()],
            "status": STATUSES[row["status"].strip().lower()],
            "remarks": REMARKS.get(remark) if remark else None}


def add_plausible_values(rows: list[dict], rng: random.Random) -> list[dict]:
    """Copies of the rows with start date, end date and lump sum (None: not paid / not yet)."""
    out = []
    for row in rows:
        start, end = rng.choice(EVENT_DATES[row["event"]])
        m = meanings(row)
        if row["visiting_org"] == OVER_MAXIMUM[0]:
            amount = OVER_MAXIMUM[1]
        elif m["status"] == "waiting_final_report" or m["remarks"] == "lump_sum_not_used":
            amount = None
        else:
            amount = rng.choice(LUMP_SUMS)
        out.append({**row, **m, "start_date": start, "end_date": end, "amount_eur": amount})
    return out


def golden_kpis(rows: list[dict]) -> dict:
    """Completed and pending counts per indicator, computed from the D5.1 labels."""
    def count(selected):
        types = Counter(r["vo_entity_type"] for r in selected)
        keys = ("cluster_organisation", "sme", "scaling_up_support_organisation", "large_company",
                "public_authority")
        return {"exchanges": len(selected),
                "outside_partnership": sum(r["partnership"] == "outside" for r in selected),
                **{k: types[k] for k in keys}}
    done = [r for r in rows if r["status"] != "waiting_final_report"]
    pending = [r for r in rows if r["status"] == "waiting_final_report"]
    return {"actual": count(done), "pending": count(pending)}


def group_digits(n: int, sep: str) -> str:
    """'1500' with thousands separator sep: group_digits(1500, '.') -> '1.500'."""
    s = str(n)
    parts = []
    while len(s) > 3:
        parts.insert(0, s[-3:])
        s = s[:-3]
    return sep.join([s] + parts)


def format_amount(value: int, style: dict, decimals: bool = True, thousands: str | None = None,
                  alternative: bool = False) -> str:
    """An amount the way a language writes it: format_amount(1500, de) -> '1.500,00 €'.

    alternative: the language's second way of placing the currency ('1.500,00 EUR')."""
    number = group_digits(value, style["thousands"] if thousands is None else thousands)
    if decimals:
        number += style["decimal"] + "00"
    pattern = style.get("alt_format", style["format"]) if alternative else style["format"]
    return pattern.format(n=number)


def format_date(day: dt.date, style: dict, long: bool, abbreviated: bool = False) -> str:
    """A date in a language's long (month name) or numeric pattern."""
    months = style["months_abbr"] if abbreviated else style["months"]
    pattern = style["numeric"]
    if long:
        pattern = style.get("long_abbr", style["long"]) if abbreviated else style["long"]
    return pattern.format(d=day.day, dd=f"{day.day:02d}", mm=f"{day.month:02d}", yyyy=day.year,
                          month=months[day.month - 1])


def label(tr: dict, lang: str, field: str, key: str | None, variant: int) -> str | None:
    """The label for a canonical key in a language; variant picks among the synonyms."""
    if key is None:
        return None
    synonyms = tr[lang]["labels"][field][key]
    return synonyms[variant % len(synonyms)]


def header(tr: dict, lang: str, field: str, variant: int) -> str:
    """The header wording for a field in a language (the last one if variant is past the list)."""
    wordings = tr[lang]["headers"][field]
    return wordings[min(variant, len(wordings) - 1)]


def localise(row: dict, tr: dict, lang_of, variant_of) -> dict:
    """A row with labels in the language lang_of(field) and synonym variant_of(field)."""
    out = dict(row)
    for field in ("vo_entity_type", "partnership", "status", "remarks"):
        out[field] = label(tr, lang_of(field), field, row[field], variant_of(field))
    return out


def expected(rows: list[dict], first_row: int, **extra) -> dict:
    """The golden entry of a file whose first data row is first_row (as Excel/CSV shows it)."""
    by_row = {first_row + i: r for i, r in enumerate(rows)}
    return {"kpis": golden_kpis(rows),
            "amounts": {str(n): r["amount_eur"] for n, r in by_row.items()},
            "dates": {str(n): [r["start_date"].isoformat(), r["end_date"].isoformat()]
                      for n, r in by_row.items()},
            "over_maximum_rows": [n for n, r in by_row.items()
                                  if r["amount_eur"] is not None and r["amount_eur"] > 1100],
            "ambiguous_rows": [], "columns": None,
            "without_it_tool": sum(r["status"] == "completed_without_it_tool"
                                   or r["remarks"] == "without_it_tool" for r in rows),
            "lump_sum_not_used": sum(r["remarks"] == "lump_sum_not_used" for r in rows),
            **extra}


def write_xlsx(path: Path, headers: list[str], cells: list[list], title: str | None = None,
               blank_after_title: bool = True, number_formats: dict | None = None) -> int:
    """Write one sheet 'Exchanges' (title rows optional); return the first data row number."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Exchanges"
    if title:
        ws.append([title])
        if blank_after_title:
            ws.append([])
    ws.append(headers)
    first = ws.max_row + 1
    for values in cells:
        ws.append(values)
    for col, fmt in (number_formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=first, min_col=col + 1, max_col=col + 1):
            if cell.value is not None and not isinstance(cell.value, str):
                cell.number_format = fmt
    wb.save(path)
    return first


def write_csv(path: Path, headers: list[str], cells: list[list], delimiter: str, encoding: str) -> int:
    """Write a CSV as a European Excel export would; return the first data row number (2)."""
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows([["" if v is None else v for v in row] for row in cells])
    return 2


def cells_of(rows: list[dict], fields, date_fmt, amount_fmt) -> list[list]:
    """Row values in column order; dates and amounts through the given formatters."""
    out = []
    for i, r in enumerate(rows):
        values = []
        for f in fields:
            v = r[f]
            if f in ("start_date", "end_date"):
                v = date_fmt(i, v)
            elif f == "amount_eur":
                v = None if v is None else amount_fmt(i, v)
            values.append(v)
        out.append(values)
    return out


def language_files(out: Path, rows: list[dict], tr: dict, rng: random.Random) -> dict:
    """Three trackers per language: most likely wordings, second wordings, third wordings.

    _1: title rows, text dates with month names, text amounts with decimals ('1.100,00 €');
    _2: no title, columns shuffled, Excel date and number cells;
    _3: one title row, numeric text dates and every third one with an abbreviated month,
        amounts with the currency placed the language's other way ('550 EUR', 'EUR 1.100,00').
    """
    golden = {}
    for lang in LANGS:
        dates, money = tr[lang]["dates"], tr[lang]["amounts"]
        for variant in (0, 1, 2):
            local = [localise(r, tr, lambda f: lang, lambda f, i=i: 0 if variant == 0 else variant + i)
                     for i, r in enumerate(rows)]
            fields = list(FIELDS)
            if variant == 1:
                rng.shuffle(fields)
            headers = [header(tr, lang, f, variant) for f in fields]
            formats = {}
            if variant == 0:      # text: long dates with month names, amounts with decimals
                date_fmt = lambda i, d: format_date(d, dates, long=True)
                amount_fmt = lambda i, v: format_amount(v, money)
            elif variant == 1:    # Excel date and number cells
                date_fmt = lambda i, d: d
                amount_fmt = lambda i, v: float(v)
                formats = {fields.index("amount_eur"): '#,##0.00 "€"',
                           fields.index("start_date"): "dd/mm/yyyy", fields.index("end_date"): "dd/mm/yyyy"}
            else:                 # numeric dates with some abbreviated months; "550 €" beside "1.100,00 €"
                date_fmt = lambda i, d: format_date(d, dates, long=i % 3 == 1, abbreviated=True)
                amount_fmt = lambda i, v: format_amount(v, money, decimals=v >= 1000, alternative=True)
            name = f"{lang}_{variant + 1}.xlsx"
            title = TITLES[lang] if variant != 1 else None
            first = write_xlsx(out / name, headers, cells_of(local, fields, date_fmt, amount_fmt),
                               title=title, blank_after_title=variant == 0, number_formats=formats)
            golden[name] = expected(rows, first)
    return golden


def german_csv(out: Path, rows: list[dict], tr: dict) -> dict:
    """A ';'-separated Windows-1252 export with German headers, labels, dates and amounts."""
    de = tr["de"]
    local = [localise(r, tr, lambda f: "de", lambda f, i=i: i) for i, r in enumerate(rows)]

    def date_fmt(i, d):
        return format_date(d, de["dates"], long=i % 2 == 1)      # 05.09.2022 / 5. September 2022

    def amount_fmt(i, v):
        if v >= 1000 and i % 4 == 3:
            return format_amount(v, de["amounts"], decimals=False)   # 1.100 € (the column proves ',')
        return format_amount(v, de["amounts"], decimals=v >= 1000)  # 1.100,00 € / 550 €

    headers = [header(tr, "de", f, 0) for f in FIELDS]
    first = write_csv(out / "de_export.csv", headers, cells_of(local, FIELDS, date_fmt, amount_fmt),
                      ";", "cp1252")
    return {"de_export.csv": expected(rows, first)}


def french_csv(out: Path, rows: list[dict], tr: dict) -> dict:
    """A ';'-separated UTF-8 (BOM) export, amounts '1 500,00 €' with no-break spaces."""
    fr = tr["fr"]
    local = [localise(r, tr, lambda f: "fr", lambda f: 0) for r in rows]
    headers = [header(tr, "fr", f, 0) for f in FIELDS]
    cells = cells_of(local, FIELDS, lambda i, d: format_date(d, fr["dates"], long=False),
                     lambda i, v: format_amount(v, fr["amounts"], thousands="\u00a0"))
    first = write_csv(out / "fr_export.csv", headers, cells, ";", "utf-8-sig")
    return {"fr_export.csv": expected(rows, first)}


def english_suffix(out: Path, rows: list[dict], tr: dict) -> dict:
    """English headers with the role as a suffix: 'Type of entity (VO)', 'Organisation (HO)'."""
    headers = {"exchange_id": "Exchange ID (IT tool)", "host_org": "Organisation (HO)",
               "visiting_org": "Organisation (VO)", "vo_entity_type": "Type of entity (VO)",
               "partnership": "Partnership (inside/outside)", "event": "Event (group exchange)",
               "status": "Status (exchange)", "remarks": "Remarks", "start_date": "Date (from)",
               "end_date": "Date (to)", "amount_eur": "Amount paid (€)"}
    en = tr["en"]
    local = [localise(r, tr, lambda f: "en", lambda f: 0) for r in rows]
    cells = cells_of(local, FIELDS, lambda i, d: format_date(d, en["dates"], long=True),
                     lambda i, v: format_amount(v, en["amounts"], decimals=v >= 1000))  # €1,100.00 / €550
    first = write_xlsx(out / "en_vo_suffix.xlsx", [headers[f] for f in FIELDS], cells)
    return {"en_vo_suffix.xlsx": expected(rows, first)}


def mixed_labels(out: Path, rows: list[dict], tr: dict) -> dict:
    """English headers; type, partnership, status and remark labels in a new language each row."""
    local = [localise(r, tr, lambda f, i=i: LANGS[(i + len(f)) % len(LANGS)], lambda f: 0)
             for i, r in enumerate(rows)]
    cells = cells_of(local, FIELDS, lambda i, d: d.isoformat(), lambda i, v: v)
    first = write_xlsx(out / "mixed_labels.xlsx", [header(tr, "en", f, 0) for f in FIELDS], cells,
                       title="Exchanges (partners' own words)")
    return {"mixed_labels.xlsx": expected(rows, first)}


def permuted_files(out: Path, rows: list[dict], tr: dict) -> dict:
    """Headers with their words in another order, qualifiers moved; English labels."""
    golden = {}
    local = [localise(r, tr, lambda f: "en", lambda f: 0) for r in rows]
    for name, headers in PERMUTED.items():
        date_fmt = lambda i, d: d                   # Excel date cells
        if name == "permuted_qualifier_first.xlsx":  # pasted as values: bare Excel serial numbers
            date_fmt = lambda i, d: (d - dt.date(1899, 12, 30)).days
        cells = cells_of(local, FIELDS, date_fmt, lambda i, v: v)
        first = write_xlsx(out / name, [headers[f] for f in FIELDS], cells)
        golden[name] = expected(rows, first)
    return golden


def ambiguous_files(out: Path, rows: list[dict], tr: dict) -> dict:
    """Two trackers whose amount column holds '1,100' that cannot be read with certainty.

    amounts_mixed.xlsx: European '1.100,00' / '550,00' with one '1,100' (a euro amount has no
    three decimals, and ',' as thousands contradicts the column). amounts_no_evidence.csv:
    whole numbers without separators and one '1,100' (nothing in the column says what ',' is).
    """
    golden = {}
    local = [localise(r, tr, lambda f: "en", lambda f: 0) for r in rows]
    target = next(i for i, r in enumerate(rows) if r["amount_eur"] == 1100)
    plain = {"decimal": ",", "thousands": ".", "format": "{n}"}   # 1.100,00 without the sign

    def mixed(i, v):
        return "1,100" if i == target else format_amount(v, plain)

    def bare(i, v):
        return "1,100" if i == target else str(v)

    for name, fmt in (("amounts_mixed.xlsx", mixed), ("amounts_no_evidence.csv", bare)):
        cells = cells_of(local, FIELDS, lambda i, d: d.isoformat(), fmt)
        headers = [header(tr, "en", f, 0) for f in FIELDS]
        if name.endswith(".csv"):
            first = write_csv(out / name, headers, cells, ",", "utf-8")
        else:
            first = write_xlsx(out / name, headers, cells)
        entry = expected(rows, first, ambiguous_rows=[first + target])
        entry["amounts"][str(first + target)] = None
        golden[name] = entry
    return golden


def unknowable_files(out: Path, rows: list[dict], tr: dict) -> dict:
    """Trackers whose headers no vocabulary could know, each with its column map YAML."""
    golden = {}
    local = [localise(r, tr, lambda f: "en", lambda f: 0) for r in rows]
    for name, headers in UNKNOWABLE.items():
        cells = cells_of(local, FIELDS, lambda i, d: d.isoformat(), lambda i, v: v)
        if name.endswith(".csv"):
            first = write_csv(out / name, [headers[f] for f in FIELDS], cells, ",", "utf-8")
        else:
            first = write_xlsx(out / name, [headers[f] for f in FIELDS], cells)
        map_name = Path(name).stem + ".columns.yaml"
        (out / map_name).write_text(yaml.safe_dump(headers, allow_unicode=True, sort_keys=False),
                                    encoding="utf-8")
        golden[name] = expected(rows, first, columns=map_name)
    return golden


def build(out: Path, source: Path = D51, seed: int = SEED) -> dict:
    """Write every tracker of the corpus and golden.json into out; return the golden dict."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tr = load_translations()
    rows = add_plausible_values(read_d51(source), rng)
    golden = {}
    golden.update(language_files(out, rows, tr, rng))
    golden.update(german_csv(out, rows, tr))
    golden.update(french_csv(out, rows, tr))
    golden.update(english_suffix(out, rows, tr))
    golden.update(mixed_labels(out, rows, tr))
    golden.update(permuted_files(out, rows, tr))
    golden.update(ambiguous_files(out, rows, tr))
    golden.update(unknowable_files(out, rows, tr))
    (out / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False), encoding="utf-8")
    return golden


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/corpus/make_corpus.py OUT_DIR")
    built = build(Path(sys.argv[1]))
    print(f"{len(built)} trackers -> {sys.argv[1]}")
