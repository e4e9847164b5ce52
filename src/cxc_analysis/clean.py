"""Turn a raw tracker frame into the canonical table, and say what is wrong with it.

Each verb takes a frame and returns a new one (``df.pipe(verb)``), never mutating its
input. ``clean`` chains them and collects the findings. Labels are normalised once per
distinct value (factorise, look up the few uniques, map back), so a million rows cost
little more than a thousand. Knows nothing of files or KPIs.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from .distinct import casefold, collapse_spaces, factorize, first_rows, flags, parallel_map, per_distinct, recode
from .findings import combine_findings, empty_findings, error_rows, make_findings
from .load import DISPLAY, REQUIRED
from .schema import COLUMNS, ENTITY_TYPES, EXCHANGE_ID_PATTERN, PARTNERSHIP_VALUES, STATUS_VALUES, require_valid
from .text import Parsed, parse_amounts as read_amounts, parse_dates as read_dates, starts_like_formula
from .vocabulary import Vocabulary, load_vocabulary

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
    """The canonical table and its findings, from ``load.read_tracker``'s frame; labels read
    with ``vocabulary`` (default: the bundled one). Findings name columns by the tracker's own
    headers (``raw.attrs["headers"]``).

    >>> result = clean(read_tracker(DEFAULT_INPUT))  # doctest: +SKIP
    >>> result.table.status.value_counts()["completed"]  # doctest: +SKIP
    42
    """
    vocabulary = vocabulary or load_vocabulary()
    parsed = {**{c: read_dates(raw[c]) for c in DATE_COLUMNS}, "amount_eur": read_amounts(raw["amount_eur"])}
    table = (raw.pipe(normalise_names)
                .pipe(map_entity_types, vocabulary)
                .pipe(map_partnership, vocabulary)
                .pipe(map_status, vocabulary)
                .pipe(derive_it_tool, vocabulary)
                .pipe(derive_lump_sum, vocabulary)
                .assign(**{c: p.values for c, p in parsed.items()}))
    table.attrs = dict(raw.attrs)
    checks = [partial(find_missing_values, raw), partial(find_unknown_labels, raw, table),
              partial(find_malformed_ids, table), partial(find_duplicate_ids, table),
              partial(find_duplicate_exchanges, table), partial(find_formula_text, table),
              partial(find_unparsed_values, raw, parsed)]
    # The checks are independent and only read; a big tracker runs them on threads (one per core).
    run = parallel_map if len(raw) >= PARALLEL_ROWS else map
    findings = combine_findings(run(lambda check: check(), checks))
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
    """``start_date`` / ``end_date`` as dates (see ``text.parse_dates``); unreadable -> missing."""
    return df.assign(**{c: read_dates(df[c]).values for c in DATE_COLUMNS})


def parse_amounts(df: pd.DataFrame) -> pd.DataFrame:
    """``amount_eur`` as a number: "1.100,00 €", "1100", 1100.0 -> 1100.0 (see ``text.parse_amounts``)."""
    return df.assign(amount_eur=read_amounts(df["amount_eur"]).values)


def mark_excluded(table: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """``excluded`` is true on the rows that have an error finding; columns in canonical order."""
    excluded = table["source_row"].isin(sorted(error_rows(findings)))
    return table.assign(excluded=excluded.astype("boolean"))[list(COLUMNS)]


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
               "partnership": "inside, outside", "status": "completed, pending (e.g. waiting for report)"}
    frames = []
    for field, words in allowed.items():
        unknown = raw[field].notna() & table[field].isna()
        if unknown.any():
            texts = raw.loc[unknown, field]
            frames.append(make_findings(raw.loc[unknown, "source_row"], column_name(raw, field), "error", "unknown_label",
                                        "unknown label '" + texts + f"' (expected one of: {words})"))
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
                         "exchange number '" + ids[repeated] + "' is also used on row " + earlier.astype(str))


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
                         "duplicate_exchange", "same HO, VO and event as row " + earlier.astype(str))


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
