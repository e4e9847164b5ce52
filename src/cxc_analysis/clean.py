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

from .distinct import factorize, first_rows, flags, parallel_map, per_distinct, recode
from .findings import combine_findings, empty_findings, error_rows, make_findings
from .schema import (COLUMNS, ENTITY_TYPE_VOCABULARY, ENTITY_TYPES, EXCHANGE_ID_PATTERN,
                     PARTNERSHIP_VALUES, PARTNERSHIP_VOCABULARY, STATUS_VALUES, label_key, lookup_status,
                     require_valid)

NAME_COLUMNS = ("host_org", "visiting_org", "event")
# What each required field is called in messages: the report's own headers.
DISPLAY = {"host_org": "HO", "visiting_org": "VO", "vo_entity_type": "VO Type of entity",
           "partnership": "Inside/outside partnership", "status": "Status", "exchange_id": "Exchange no.",
           "event": "(Group) exchange", "remarks": "Remarks", "start_date": "Start date",
           "end_date": "End date", "amount_eur": "Amount"}
WITHOUT_IT_TOOL = r"(?i)without\s+(?:the\s+)?(?:cxc\s+)?it[\s-]*tool"
LUMP_SUM_NOT_USED = r"(?i)(?:\b(?:not|no|never|without|declined|waived|refused)\b.*lump[\s-]*sum|lump[\s-]*sum.*\bnot\b)"
FORMULA_START = r"^[=+@]|^-[^\s\d-]"
PARALLEL_ROWS = 100_000  # from this many rows, the checks run on threads


class CleanResult(NamedTuple):
    table: pd.DataFrame
    findings: pd.DataFrame


def clean(raw: pd.DataFrame) -> CleanResult:
    """The canonical table and its findings, from ``load.read_tracker``'s frame.

    >>> result = clean(read_tracker(DEFAULT_INPUT))  # doctest: +SKIP
    >>> result.table.status.value_counts()["completed"]  # doctest: +SKIP
    42
    """
    table = (raw.pipe(normalise_names)
                .pipe(map_entity_types)
                .pipe(map_partnership)
                .pipe(map_status)
                .pipe(derive_it_tool)
                .pipe(derive_lump_sum)
                .pipe(parse_dates)
                .pipe(parse_amounts))
    checks = [partial(find_missing_values, raw), partial(find_unknown_labels, raw, table),
              partial(find_malformed_ids, table), partial(find_duplicate_ids, table),
              partial(find_duplicate_exchanges, table), partial(find_formula_text, table),
              partial(find_unparsed_values, raw, table)]
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
    return df.assign(**{c: per_distinct(df[c], lambda u: u.str.replace(r"\s+", " ", regex=True).str.strip())
                        for c in NAME_COLUMNS if c in df.columns})


def map_labels(values: pd.Series, lookup, categories: tuple[str, ...]) -> pd.Categorical:
    """Map free-text labels onto codes, looking up each distinct text once.

    >>> list(map_labels(pd.Series(["SME's", "x", None]), ENTITY_TYPE_VOCABULARY.get, ENTITY_TYPES))
    [nan, nan, nan]
    """
    codes, uniques = factorize(values)
    position = {c: i for i, c in enumerate(categories)}
    table = np.array([position.get(lookup(u), -1) for u in uniques] + [-1], dtype=np.int16)
    return pd.Categorical.from_codes(table[codes], categories=list(categories))


def map_entity_types(df: pd.DataFrame) -> pd.DataFrame:
    """``vo_entity_type`` as a code: "SME's", "Cluster Organizations" ... -> sme, cluster_organisation."""
    lookup = lambda text: ENTITY_TYPE_VOCABULARY.get(label_key(text))  # noqa: E731
    return df.assign(vo_entity_type=map_labels(df["vo_entity_type"], lookup, ENTITY_TYPES))


def map_partnership(df: pd.DataFrame) -> pd.DataFrame:
    """``partnership`` as inside / outside."""
    lookup = lambda text: PARTNERSHIP_VOCABULARY.get(label_key(text))  # noqa: E731
    return df.assign(partnership=map_labels(df["partnership"], lookup, PARTNERSHIP_VALUES))


def map_status(df: pd.DataFrame) -> pd.DataFrame:
    """``status`` as completed / pending; the tracker's text kept as ``status_text``."""
    return df.assign(status_text=df["status"],
                     status=map_labels(df["status"], lookup_status, STATUS_VALUES))


def derive_it_tool(df: pd.DataFrame) -> pd.DataFrame:
    """``it_tool``: false where status or remarks say "without (the) IT tool", true where the
    exchange has an IT-tool ID, unknown otherwise."""
    said_without = (_contains(df["status_text"], WITHOUT_IT_TOOL) | _contains(df["remarks"], WITHOUT_IT_TOOL))
    has_id = df["exchange_id"].notna().to_numpy()
    known = has_id | said_without.to_numpy()
    it_tool = pd.arrays.BooleanArray(has_id & ~said_without.to_numpy(), ~known)
    return df.assign(it_tool=pd.Series(it_tool, index=df.index))


def derive_lump_sum(df: pd.DataFrame) -> pd.DataFrame:
    """``lump_sum_used``: false where the remarks say the lump sum was not used, else true."""
    return df.assign(lump_sum_used=(~_contains(df["remarks"], LUMP_SUM_NOT_USED)).astype("boolean"))


def parse_dates(df: pd.DataFrame) -> pd.DataFrame:
    """``start_date`` / ``end_date`` from Excel dates, Excel serial numbers or ISO / d.m.Y text."""
    return df.assign(**{c: _to_datetime(df[c]) for c in ("start_date", "end_date")})


def parse_amounts(df: pd.DataFrame) -> pd.DataFrame:
    """``amount_eur`` as a number: "1.100,00 €", "1100", 1100.0 -> 1100.0."""
    return df.assign(amount_eur=_to_amount(df["amount_eur"]))


def mark_excluded(table: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """``excluded`` is true on the rows that have an error finding; columns in canonical order."""
    excluded = table["source_row"].isin(sorted(error_rows(findings)))
    return table.assign(excluded=excluded.astype("boolean"))[list(COLUMNS)]


# --- checks -------------------------------------------------------------------------------

def find_missing_values(raw: pd.DataFrame) -> pd.DataFrame:
    """Error for each empty required cell."""
    from .load import REQUIRED

    frames = []
    for field in REQUIRED:
        missing = raw[field].isna()
        if missing.any():
            frames.append(make_findings(raw.loc[missing, "source_row"], DISPLAY[field], "error",
                                        "missing_value", f"{DISPLAY[field]} is empty"))
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
            frames.append(make_findings(raw.loc[unknown, "source_row"], DISPLAY[field], "error", "unknown_label",
                                        "unknown label '" + texts + f"' (expected one of: {words})"))
    return combine_findings(frames)


def find_malformed_ids(table: pd.DataFrame) -> pd.DataFrame:
    """Warning for an exchange number that is not an IT-tool ID such as EG927FA8 (not repaired)."""
    ids = table["exchange_id"]
    bad = pd.Series(flags(ids, lambda u: ~u.str.fullmatch(EXCHANGE_ID_PATTERN).fillna(False).astype(bool)),
                    index=table.index)
    return make_findings(table.loc[bad, "source_row"], DISPLAY["exchange_id"], "warning", "malformed_id",
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
    return make_findings(table.loc[repeated, "source_row"], DISPLAY["exchange_id"], "warning", "duplicate_id",
                         "exchange number '" + ids[repeated] + "' is also used on row " + earlier.astype(str))


def find_duplicate_exchanges(table: pd.DataFrame) -> pd.DataFrame:
    """Error for a later copy of the same exchange (same HO, VO and event, whatever the case)."""
    first = first_rows(*(recode(table[c], lambda u: u.str.casefold()) for c in NAME_COLUMNS))
    valid = table["host_org"].notna() & table["visiting_org"].notna()
    repeated = pd.Series(first != np.arange(len(first), dtype=first.dtype), index=table.index) & valid
    if not repeated.any():
        return empty_findings()
    earlier = pd.Series(table["source_row"].to_numpy()[first[repeated.to_numpy()]])
    return make_findings(table.loc[repeated, "source_row"], "HO, VO, (Group) exchange", "error",
                         "duplicate_exchange", "same HO, VO and event as row " + earlier.astype(str))


def find_formula_text(table: pd.DataFrame) -> pd.DataFrame:
    """Warning for names a spreadsheet would run as a formula; they stay plain text everywhere."""
    frames = []
    for field in (*NAME_COLUMNS, "remarks"):
        risky = _contains(table[field], FORMULA_START)
        if risky.any():
            frames.append(make_findings(table.loc[risky, "source_row"], DISPLAY[field], "warning",
                                        "formula_like_text",
                                        f"{DISPLAY[field]} starts like a spreadsheet formula; kept as plain text"))
    return combine_findings(frames)


def find_unparsed_values(raw: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Warning for a date or amount that could not be read (the rules cannot check it)."""
    frames = []
    for field in ("start_date", "end_date", "amount_eur"):
        bad = raw[field].notna() & table[field].isna()
        if bad.any():
            frames.append(make_findings(raw.loc[bad, "source_row"], DISPLAY[field], "warning", "unreadable_value",
                                        "cannot read '" + raw.loc[bad, field].astype(str) + "' as "
                                        + ("a date" if field != "amount_eur" else "an amount in EUR")))
    return combine_findings(frames)


# --- helpers ------------------------------------------------------------------------------

def _contains(values: pd.Series, pattern: str) -> pd.Series:
    found = flags(values, lambda u: u.str.contains(pattern, regex=True).fillna(False).astype(bool))
    return pd.Series(found, index=values.index)


def _to_datetime(values: pd.Series) -> pd.Series:
    if not values.notna().any():
        return pd.Series(np.full(len(values), np.datetime64("NaT", "ns")), index=values.index)
    codes, uniques = pd.factorize(values.astype("object"))  # each distinct cell parsed once
    parsed = pd.DatetimeIndex([_one_date(u) for u in uniques] + [pd.NaT]).as_unit("ns").to_numpy()
    return pd.Series(parsed[codes], index=values.index)


def _one_date(value: object) -> pd.Timestamp:
    if isinstance(value, (pd.Timestamp,)) or hasattr(value, "year"):
        return pd.Timestamp(value).normalize()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pd.Timestamp("1899-12-30") + pd.Timedelta(days=float(value))  # Excel serial date
    text = str(value).strip()
    for fmt in ("ISO8601", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"):
        try:
            return pd.to_datetime(text, format=fmt).normalize()
        except (ValueError, TypeError):
            continue
    return pd.NaT


def _to_amount(values: pd.Series) -> pd.Series:
    if values.isna().all():
        return pd.Series(pd.NA, index=values.index, dtype="Float64")
    codes, uniques = pd.factorize(values.astype("object"))  # each distinct cell read once
    numbers = pd.to_numeric(pd.Series([_amount_text(u) for u in uniques] + [None], dtype="object"),
                            errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(numbers[codes], index=values.index).astype("Float64")


def _amount_text(value: object) -> object:
    if isinstance(value, (int, float)):
        return value
    text = str(value).replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    return text
