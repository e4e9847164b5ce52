"""Turn a raw tracker frame into the canonical table, and say what is wrong with it.

Each verb takes a frame and returns a new one (``df.pipe(verb)``), never mutating its
input. ``clean`` chains them and collects the findings. Labels are normalised once per
distinct value (factorise, look up the few uniques, map back), so a million rows cost
little more than a thousand. Knows nothing of files or KPIs.
"""

from __future__ import annotations

import re
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from cxc_analysis.core.distinct import (
    casefold,
    collapse_spaces,
    factorize,
    first_rows,
    flags,
    parallel_map,
    per_distinct,
    recode,
)
from cxc_analysis.core.parse import Parsed, parse_date_columns
from cxc_analysis.core.parse import parse_amounts as read_amounts
from cxc_analysis.core.schema import (
    COLUMNS,
    DISPLAY,
    ENTITY_TYPES,
    EXCHANGE_ID_PATTERN,
    PARTNERSHIP_VALUES,
    REQUIRED,
    STATUS_VALUES,
    require_valid,
)
from cxc_analysis.core.text import starts_like_formula
from cxc_analysis.read.countries import country_codes_of, country_problems
from cxc_analysis.read.frame import where
from cxc_analysis.read.vocabulary import Vocabulary, load_vocabulary
from cxc_analysis.table.findings import combine_findings, empty_findings, error_rows, make_findings

NAME_COLUMNS = ("host_org", "visiting_org", "event")
DATE_COLUMNS = ("start_date", "end_date")
PARALLEL_ROWS = 100_000  # from this many rows, the checks run on threads


# The fields an error finding (which excludes a row from the KPIs) comes from: an empty or unknown
# required value (find_missing_values, find_unknown_labels) and a repeated exchange
# (find_duplicate_exchanges). Every other check only warns.
EXCLUDING_FIELDS = (*REQUIRED, *NAME_COLUMNS)


class CleanResult(NamedTuple):
    table: pd.DataFrame
    findings: pd.DataFrame


def clean(raw: pd.DataFrame, vocabulary: Vocabulary | None = None) -> CleanResult:
    """The canonical table and its findings, from ``read.tracker.read_tracker``'s frame; labels read
    with ``vocabulary`` (default: the bundled one). Findings name columns by the tracker's own
    headers (``raw.attrs["headers"]``).

    >>> result = clean(read_tracker(DEFAULT_INPUT))  # doctest: +SKIP
    >>> result.table.status.value_counts()["completed"]  # doctest: +SKIP
    42
    """
    vocabulary = vocabulary or load_vocabulary()
    raw, not_exchanges = split_not_exchanges(raw, vocabulary)
    parsed = {**parse_date_columns({c: raw[c] for c in DATE_COLUMNS}), "amount_eur": read_amounts(raw["amount_eur"])}
    table = (raw.pipe(normalise_names)
                .pipe(map_entity_types, vocabulary)
                .pipe(map_partnership, vocabulary)
                .pipe(map_status, vocabulary)
                .pipe(map_countries, vocabulary)
                .pipe(derive_it_tool, vocabulary)
                .pipe(derive_lump_sum, vocabulary)
                .assign(**{c: p.values for c, p in parsed.items()}))
    table.attrs = dict(raw.attrs)
    checks = [partial(find_missing_values, raw), partial(find_unknown_labels, raw, table),
              partial(find_malformed_ids, table), partial(find_duplicate_ids, table),
              partial(find_duplicate_exchanges, table), partial(find_formula_text, table),
              partial(find_unparsed_values, raw, parsed), partial(find_unknown_countries, raw, vocabulary)]
    # The checks are independent and only read; a big tracker runs them on threads (one per core).
    run = parallel_map if len(raw) >= PARALLEL_ROWS else map
    findings = name_sheets(combine_findings([*run(lambda check: check(), checks), not_exchanges]), raw)
    table.attrs["not_exchanges"] = len(not_exchanges)
    return CleanResult(require_valid(mark_excluded(table, findings), findings), findings)


# --- transforms ---------------------------------------------------------------------------

def normalise_names(df: pd.DataFrame) -> pd.DataFrame:
    """Collapse runs of white space inside organisation and event names.

    >>> normalise_names(pd.DataFrame({"host_org": ["Next  Move "], "visiting_org": ["A"], "event": [None]})).host_org[0]
    'Next Move'
    """
    return df.assign(**{c: per_distinct(df[c], collapse_spaces) for c in NAME_COLUMNS if c in df.columns})





def map_labels(values: pd.Series, lookup, categories: tuple[str, ...],
               vocabulary: Vocabulary | None = None) -> pd.Categorical:
    """Map free-text labels onto codes, looking up each distinct text once (through
    ``vocabulary.each`` when given: the distinct texts keyed in one batch).

    >>> list(map_labels(pd.Series(["SME's", "x", None]), {"SME's": "sme"}.get, ENTITY_TYPES))
    ['sme', nan, nan]
    """
    codes, uniques = factorize(values)
    position = {c: i for i, c in enumerate(categories)}
    found = vocabulary.each(lookup, uniques) if vocabulary is not None else [lookup(u) for u in uniques]
    table = np.array([position.get(code, -1) for code in found] + [-1], dtype=np.int16)
    return pd.Categorical.from_codes(table[codes], categories=list(categories))


def map_entity_types(df: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """``vo_entity_type`` as a code: "SME's", "KMU", "Organisation de cluster" ... -> sme, cluster_organisation.

    >>> map_entity_types(pd.DataFrame({"vo_entity_type": ["PME", "Grande entreprise", "?"]})).vo_entity_type.tolist()
    ['sme', 'large_company', nan]
    """
    vocabulary = vocabulary or load_vocabulary()
    lookup = partial(vocabulary.label, "vo_entity_type")
    return df.assign(vo_entity_type=map_labels(df["vo_entity_type"], lookup, ENTITY_TYPES, vocabulary))


def map_partnership(df: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """``partnership`` as inside / outside ("Inside", "innerhalb", "Hors partenariat", ...)."""
    vocabulary = vocabulary or load_vocabulary()
    lookup = partial(vocabulary.label, "partnership")
    return df.assign(partnership=map_labels(df["partnership"], lookup, PARTNERSHIP_VALUES, vocabulary))


def map_status(df: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """``status`` as completed / pending; the tracker's text kept as ``status_text``."""
    vocabulary = vocabulary or load_vocabulary()
    return df.assign(status_text=df["status"],
                     status=map_labels(df["status"], vocabulary.status, STATUS_VALUES, vocabulary))


def map_countries(df: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """``ho_country`` / ``vo_country`` as ISO alpha-2 codes, read by meaning ("Italia", "Polska",
    "Czech Republic", "DEU" -> IT, PL, CZ, DE; ``read.countries.country_codes_of``, with the vocabulary's
    ``countries``); a text that is no country stays as written (``find_unknown_countries``).

    >>> map_countries(pd.DataFrame({"ho_country": ["Spagna", "Atlantis"], "vo_country": ["Ελλάδα", None]})).values.tolist()
    [['ES', 'GR'], ['Atlantis', nan]]
    """

    variants = (vocabulary or load_vocabulary()).countries
    out = {}
    for column in ("ho_country", "vo_country"):
        codes, uniques = pd.factorize(df[column].astype("object"))
        read = [code or text for code, text in zip(country_codes_of(list(uniques), variants), uniques)]
        out[column] = pd.Series(np.array(read + [None], dtype=object)[codes], index=df.index, dtype="str")
    return df.assign(**out)


def derive_it_tool(df: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """``it_tool``: false where status or remarks say "without (the) IT tool" (in any of the
    vocabulary's languages), true where the exchange has an IT-tool ID, unknown otherwise."""
    vocabulary = vocabulary or load_vocabulary()
    says, needs = vocabulary.says_without_it_tool, vocabulary.tools
    said_without = _said(df["status_text"], says, vocabulary, needs) | _said(df["remarks"], says, vocabulary, needs)
    has_id = df["exchange_id"].notna().to_numpy()
    known = has_id | said_without
    it_tool = pd.arrays.BooleanArray(has_id & ~said_without, ~known)
    return df.assign(it_tool=pd.Series(it_tool, index=df.index))


def derive_lump_sum(df: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """``lump_sum_used``: false where the remarks say the lump sum was not used, else true."""
    vocabulary = vocabulary or load_vocabulary()
    said = _said(df["remarks"], vocabulary.says_lump_sum_not_used, vocabulary, vocabulary.lump_sums)
    return df.assign(lump_sum_used=pd.Series(~said, index=df.index, dtype="boolean"))


def parse_dates(df: pd.DataFrame) -> pd.DataFrame:
    """``start_date`` / ``end_date`` as dates in one day/month order proven by both (see
    ``parse.parse_date_columns``); unreadable or ambiguous -> missing."""
    return df.assign(**{c: p.values for c, p in parse_date_columns({c: df[c] for c in DATE_COLUMNS}).items()})


def parse_amounts(df: pd.DataFrame) -> pd.DataFrame:
    """``amount_eur`` as a number: "1.100,00 €", "1100", 1100.0 -> 1100.0 (see ``parse.parse_amounts``)."""
    return df.assign(amount_eur=read_amounts(df["amount_eur"]).values)


def mark_excluded(table: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """``excluded`` is true on the rows that have an error finding; columns in canonical order."""
    excluded = table["source_row"].isin(sorted(error_rows(findings)))
    sheet = ["sheet"] if "sheet" in table.columns else []  # several sheets read: each row's sheet
    return table.assign(excluded=excluded.astype("boolean"))[[COLUMNS[0], *sheet, *COLUMNS[1:]]]


# --- rows that are not exchanges -----------------------------------------------------------

# A totals row's first word, in the vocabulary's languages (en, de, fr, it, es, nl, pl, pt).
TOTAL_WORDS = frozenset({"total", "totals", "subtotal", "sum", "grand", "summe", "gesamt", "insgesamt",
                         "gesamtsumme", "zwischensumme", "totaux", "somme", "totale", "totali", "somma",
                         "suma", "totaal", "razem", "soma"})
LABEL_FIELDS = ("vo_entity_type", "partnership", "status")


def split_not_exchanges(raw: pd.DataFrame, vocabulary: Vocabulary | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that are exchanges, and a warning (``not_an_exchange``) for each row that is not:
    an Excel Table's totals row (``raw.attrs["totals_rows"]``), a totals row ("Total", "Summe" ...),
    the header written again, or a note under the table. Such rows are never counted and never
    dropped unsaid. Only rows whose labels (entity type, partnership, status) are at least two
    empty or unknown are looked at, so an organisation named "Total" with its labels stays an exchange.
    """
    vocabulary = vocabulary or load_vocabulary()
    totals = set(raw.attrs.get("totals_rows") or [])
    labels = {"vo_entity_type": (partial(vocabulary.label, "vo_entity_type"), ENTITY_TYPES),
              "partnership": (partial(vocabulary.label, "partnership"), PARTNERSHIP_VALUES),
              "status": (vocabulary.status, STATUS_VALUES)}
    unlabelled = sum(np.asarray(pd.isna(map_labels(raw[f], *labels[f], vocabulary))) for f in LABEL_FIELDS)
    candidate = (unlabelled >= 2) | raw["source_row"].isin(totals).to_numpy()
    if not candidate.any():
        return raw, empty_findings()
    last_exchange = raw["source_row"].to_numpy()[~candidate].max(initial=-1)
    fields = [c for c in raw.columns if c not in ("source_row", "sheet")]
    found = []
    for position in np.flatnonzero(candidate):
        row = raw.iloc[position]
        why = _not_an_exchange(row, fields, raw, vocabulary, totals, after_table=row["source_row"] > last_exchange)
        if why:
            found.append((position, *why))
    if not found:
        return raw, empty_findings()
    positions = [p for p, _, _ in found]
    rows = raw["source_row"].iloc[positions].reset_index(drop=True)
    findings = make_findings(rows, "", "warning", "not_an_exchange",
                             pd.Series([f"not an exchange: {why}; not counted" for _, why, _ in found], dtype="str"))
    findings["column"] = [column for _, _, column in found]
    keep = np.ones(len(raw), dtype=bool)
    keep[positions] = False
    kept = raw.loc[keep].reset_index(drop=True)
    kept.attrs = dict(raw.attrs)
    return kept, findings


def _not_an_exchange(row: pd.Series, fields: list[str], raw: pd.DataFrame, vocabulary: Vocabulary,
                     totals: set[int], after_table: bool) -> tuple[str, str] | None:
    """Why a row is not an exchange (and the column that shows it), or None if it may be one."""
    filled = [(f, _text(row[f])) for f in fields if _text(row[f])]
    first = (column_name(raw, filled[0][0]), filled[0][1]) if filled else ("", "")
    if row["source_row"] in totals:
        return "the Excel table's totals row", first[0]
    names = [text for field, text in filled if field in ("host_org", "visiting_org") and not _number(text)]
    for field, text in filled if len(names) < 2 else ():  # a host and a visitor named: an exchange ("Total SA")
        words = re.findall(r"[^\W\d_]+", text.casefold())
        if words and words[0] in TOTAL_WORDS and field not in ("remarks",):
            return f"a totals row ('{_short(text)}')", column_name(raw, field)
    named = [f for f, text in filled if vocabulary.field_for(text) == f]
    if len(named) >= 3:
        return f"the header again ({', '.join(repr(_short(t)) for f, t in filled if f in named)})", first[0]
    if after_table and len(filled) == 1:  # one cell of text below the last exchange
        return f"a note under the table ('{_short(first[1])}')", first[0]
    return None


def _number(text: str) -> bool:
    return re.fullmatch(r"[\d\s.,:%€+-]+", text) is not None


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else " ".join(str(value).split())


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def name_sheets(findings: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Findings whose messages start with their sheet and row when several sheets were read
    (``raw.attrs["sheets"]``), e.g. "sheet 'Partner B', row 7: VO is empty"."""
    if len(raw.attrs.get("sheets") or []) < 2 or not len(findings):
        return findings
    return findings.assign(message=(where(raw, findings["row"]) + ": " + findings["message"]).to_numpy())


# --- checks -------------------------------------------------------------------------------

def find_missing_values(raw: pd.DataFrame) -> pd.DataFrame:
    """Error for each empty required cell."""
    frames = []
    for field in REQUIRED:
        missing = raw[field].isna()
        if missing.any():
            frames.append(make_findings(raw.loc[missing, "source_row"], column_name(raw, field), "error",
                                        "missing_value", f"{column_name(raw, field)} is empty"))
    return combine_findings(frames)


def find_unknown_labels(raw: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Error for each label that is neither empty nor in the vocabulary."""
    allowed = {"vo_entity_type": "cluster organisation, SME, scaling-up support organisation, "
                                 "large company, public authority",
               "partnership": "inside, outside",
               "status": "completed, pending (e.g. waiting for report), cancelled"}
    frames = []
    for field, words in allowed.items():
        unknown = raw[field].notna() & table[field].isna()
        if unknown.any():
            texts = raw.loc[unknown, field]
            frames.append(make_findings(raw.loc[unknown, "source_row"], column_name(raw, field), "error", "unknown_label",
                                        "unknown label '" + texts + f"' (expected one of: {words})"))
    return combine_findings(frames)


def find_unknown_countries(raw: pd.DataFrame, vocabulary: Vocabulary | None = None) -> pd.DataFrame:
    """Warning for a country that cannot be read: no ISO code and no name of a country in any
    language the vocabulary knows, or a name of two countries. It is never guessed."""

    variants = (vocabulary or load_vocabulary()).countries
    unknown = ("not a country code or name the vocabulary knows (write its ISO code, e.g. IT, or add the name "
               "under countries: in a --vocabulary file)")
    frames = []
    for field in ("ho_country", "vo_country"):
        name = column_name(raw, field)
        codes, uniques = pd.factorize(raw[field].astype("object"))
        problems = country_problems(list(uniques), variants)
        texts = [None if p is None else f"{name} '{u}': " + (unknown if p == "unknown" else p + " (write its ISO code)")
                 for u, p in zip(uniques, problems)]  # one message per distinct text
        messages = np.array(texts + [None], dtype=object)[codes]
        bad = pd.notna(messages)
        if bad.any():
            frames.append(make_findings(raw.loc[bad, "source_row"], name, "warning", "unknown_country",
                                        pd.Series(messages[bad], dtype="str")))
    return combine_findings(frames)


def find_malformed_ids(table: pd.DataFrame) -> pd.DataFrame:
    """Warning for an exchange number that is not an IT-tool ID such as EG927FA8 (not repaired)."""
    ids = table["exchange_id"]
    bad = pd.Series(flags(ids, lambda u: ~u.str.fullmatch(EXCHANGE_ID_PATTERN).fillna(False).astype(bool),
                          vectorised=True), index=table.index)
    return make_findings(table.loc[bad, "source_row"], column_name(table, "exchange_id"), "warning", "malformed_id",
                         "exchange number '" + ids[bad] + "' is not an IT-tool ID like EG927FA8 "
                         "(EG, 3 digits, 2 letters, 1 digit)")


def find_duplicate_ids(table: pd.DataFrame) -> pd.DataFrame:
    """Warning for an exchange number used on an earlier row too."""
    ids = table["exchange_id"]
    codes, _ = factorize(ids)
    first = first_rows(codes)
    repeated = pd.Series((codes >= 0) & (first != np.arange(len(first), dtype=first.dtype)), index=table.index)
    if not repeated.any():
        return empty_findings()
    earlier = pd.Series(table["source_row"].to_numpy()[first[repeated.to_numpy()]], index=ids[repeated].index)
    return make_findings(table.loc[repeated, "source_row"], column_name(table, "exchange_id"), "warning", "duplicate_id",
                         "exchange number '" + ids[repeated] + "' is also used on " + where(table, earlier))


def copy_of(table: pd.DataFrame) -> np.ndarray:
    """For each row, the position of the first row with the same HO, VO and event (whatever the
    case): a later copy of the same exchange; the row's own position where it is the first, or HO
    or VO is empty. ``rules`` counts a copy as this one exchange, not a second visit.

    >>> copy_of(pd.DataFrame({"host_org": ["A", "a", "A"], "visiting_org": ["B", "B", None]})).tolist()
    [0, 0, 2]
    """
    own = np.arange(len(table))
    if not len(table):
        return own
    columns = [table[c] if c in table else pd.Series(None, index=table.index, dtype="str") for c in NAME_COLUMNS]
    first = first_rows(*(recode(c, casefold) for c in columns))
    valid = (columns[0].notna() & columns[1].notna()).to_numpy(dtype=bool)
    return np.where(valid, first, own)


def find_duplicate_exchanges(table: pd.DataFrame) -> pd.DataFrame:
    """Error for a later copy of the same exchange (same HO, VO and event, whatever the case)."""
    first = copy_of(table)
    repeated = pd.Series(first != np.arange(len(first), dtype=first.dtype), index=table.index)
    if not repeated.any():
        return empty_findings()
    earlier = pd.Series(table["source_row"].to_numpy()[first[repeated.to_numpy()]])
    names = ", ".join(column_name(table, c) for c in NAME_COLUMNS)
    return make_findings(table.loc[repeated, "source_row"], names, "error",
                         "duplicate_exchange", "same HO, VO and event as " + where(table, earlier))


def find_formula_text(table: pd.DataFrame) -> pd.DataFrame:
    """Warning for names a spreadsheet would run as a formula; they stay plain text everywhere."""
    frames = []
    for field in (*NAME_COLUMNS, "remarks"):
        risky = pd.Series(starts_like_formula(table[field]), index=table.index)
        if risky.any():
            frames.append(make_findings(table.loc[risky, "source_row"], column_name(table, field), "warning",
                                        "formula_like_text",
                                        f"{column_name(table, field)} starts like a spreadsheet formula; kept as plain text"))
    return combine_findings(frames)


def find_unparsed_values(raw: pd.DataFrame, parsed: dict[str, Parsed]) -> pd.DataFrame:
    """Warning for a date or amount that cannot be read with certainty: unreadable or out of
    range (``unreadable_value``), or readable two ways (``ambiguous_value``, e.g. "1,100" in a
    column that never shows its decimal separator). The value stays missing: never a guess."""
    frames = []
    for field, result in parsed.items():
        for kind, code in (("unreadable", "unreadable_value"), ("out_of_range", "unreadable_value"),
                           ("ambiguous", "ambiguous_value")):
            bad = (result.kind == kind).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                frames.append(make_findings(raw.loc[bad, "source_row"], column_name(raw, field), "warning", code,
                                            result.problem[bad]))
    return combine_findings(frames)


# --- helpers ------------------------------------------------------------------------------

def column_name(frame: pd.DataFrame, field: str) -> str:
    """How findings name a field's column: the tracker's own header, else the report's.

    >>> frame = pd.DataFrame()
    >>> frame.attrs["headers"] = {"host_org": "Gastorganisation"}
    >>> column_name(frame, "host_org"), column_name(frame, "status")
    ('Gastorganisation', 'Status')
    """
    return frame.attrs.get("headers", {}).get(field) or DISPLAY[field]


def _said(values: pd.Series, says, vocabulary: Vocabulary, needs: set[str]) -> np.ndarray:
    """``says(text)`` for each distinct text holding one of the words ``needs`` (keyed in one
    batch); false elsewhere and where missing."""
    return flags(values, lambda uniques: pd.Series(vocabulary.each(says, uniques, needs=needs, otherwise=False),
                                                   dtype=bool))
