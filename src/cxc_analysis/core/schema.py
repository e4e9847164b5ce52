"""The canonical exchange table, declared once (the words labels are read with: vocabulary.yaml).

Every step reads its column names, types and allowed values from here: ``clean`` builds
the table to this declaration, ``validate`` checks a table against it (collecting every
failure with its row), the README's table is this list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxc_analysis.core.errors import InputError

ENTITY_TYPES = ("cluster_organisation", "sme", "scaling_up_support_organisation",
                "large_company", "public_authority")
PARTNERSHIP_VALUES = ("inside", "outside")
STATUS_VALUES = ("completed", "pending", "cancelled")  # cancelled: counted nowhere in the KPIs
KPI_NAMES = ("exchanges", "outside_partnership", *ENTITY_TYPES)

EXCHANGE_ID_PATTERN = r"EG\d{3}[A-Z]{2}\d"  # the CXC IT tool's IDs, e.g. EG927FA8

# Plain words for reports: the programme's own names for each code.
LABELS = {
    "exchanges": "Exchanges",
    "outside_partnership": "Outside partnership",
    "cluster_organisation": "Cluster organisations",
    "sme": "SMEs",
    "scaling_up_support_organisation": "Scaling-up support organisations",
    "large_company": "Large companies",
    "public_authority": "Public authorities",
    "inside": "Inside partnership",
    "outside": "Outside partnership",
    "completed": "Completed",
    "pending": "Pending",
    "cancelled": "Cancelled",
}

SINGULAR = {"cluster_organisation": "Cluster organisation", "sme": "SME",
            "scaling_up_support_organisation": "Scaling-up support organisation",
            "large_company": "Large company", "public_authority": "Public authority",
            "inside": "Inside", "outside": "Outside", "completed": "Completed", "pending": "Pending",
            "cancelled": "Cancelled"}


def percent(part: float, whole: float) -> str:
    """A share as reports print it, with one decimal.

    >>> percent(42, 80)
    '52.5%'
    """
    return f"{100 * part / whole:.1f}%"


@dataclass(frozen=True)
class Field:
    """One column of the canonical table.

    ``pattern``: the form every value must have, except on rows where a finding of code
    ``flagged_by`` says it has not (a malformed exchange number is kept as written, never
    repaired, and flagged). So a table with its findings is checked: a value off the pattern
    that no finding flags is an error (e.g. a processed table edited after ``clean``).
    """

    name: str
    dtype: str  # "string", "category", "boolean", "Int64", "int64", "Float64", "datetime"
    description: str
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    flagged_by: str | None = None
    label: str = ""  # the column's name in every table, sheet and message for people (D5.1's headers)


TABLE = (
    Field("source_row", "int64", "Row number as a person sees it in Excel or the CSV file", nullable=False, label="Row"),
    Field("exchange_id", "string", "IT-tool exchange ID (EG + 3 digits + 2 letters + 1 digit); empty if none",
          pattern=EXCHANGE_ID_PATTERN, flagged_by="malformed_id", label="Exchange no."),
    Field("host_org", "string", "Host organisation (HO), spaces normalised", label="HO"),
    Field("visiting_org", "string", "Visiting organisation (VO), spaces normalised", label="VO"),
    Field("vo_entity_type", "category", "Type of entity of the VO", allowed=ENTITY_TYPES, label="VO Type of entity"),
    Field("partnership", "category", "VO inside or outside the partnership", allowed=PARTNERSHIP_VALUES, label="Inside/outside partnership"),
    Field("event", "string", "(Group) exchange or event the exchange belongs to", label="(Group) exchange"),
    Field("status", "category", "completed, pending (not yet completed) or cancelled (counted nowhere)", allowed=STATUS_VALUES, label="Completed or pending"),
    Field("status_text", "string", "The status as written in the tracker", label="Status"),
    Field("it_tool", "boolean", "Was the CXC IT tool used (false where the tracker says without it)", label="IT tool used"),
    Field("lump_sum_used", "boolean", "false where the remarks say the lump sum was not used", label="Lump sum used"),
    Field("remarks", "string", "Remarks as written", label="Remarks"),
    Field("paying_partnership", "string", "The partnership that pays the visitor (VOP), as written; empty if "
          "the tracker does not say", label="Paying partnership"),
    Field("ho_country", "string", "Host country, ISO 3166 alpha-2", label="HO country"),
    Field("ho_city", "string", "Host city", label="HO city"),
    Field("vo_country", "string", "Visitor country, ISO 3166 alpha-2", label="VO country"),
    Field("vo_city", "string", "Visitor city", label="VO city"),
    Field("start_date", "datetime", "First day of the exchange", label="Start date"),
    Field("end_date", "datetime", "Last day of the exchange", label="End date"),
    Field("amount_eur", "Float64", "Financial support paid to the visitor, EUR", label="Amount (EUR)"),
    Field("excluded", "boolean", "True where an error finding keeps the row out of the KPIs", nullable=False, label="Excluded from KPIs"),
)
COLUMNS = tuple(f.name for f in TABLE)
FIELDS = {f.name: f for f in TABLE}
COLUMN_LABELS = {f.name: f.label for f in TABLE}  # declared once, beside each field


def column_labels(*names: str) -> dict[str, str]:
    """``{name: label}`` for these columns, in this order, from the declaration.

    >>> column_labels("host_org", "vo_entity_type")
    {'host_org': 'HO', 'vo_entity_type': 'VO Type of entity'}
    """
    return {name: COLUMN_LABELS[name] for name in names}


def _dtype_ok(values: pd.Series, dtype: str) -> bool:
    """Whether a column has the declared dtype (any datetime unit; nullable or numpy booleans)."""
    actual = values.dtype
    if dtype == "string":
        return isinstance(actual, pd.StringDtype)
    if dtype == "category":
        return isinstance(actual, pd.CategoricalDtype)
    if dtype == "boolean":
        return pd.api.types.is_bool_dtype(actual)
    if dtype == "datetime":
        return pd.api.types.is_datetime64_dtype(actual)
    return str(actual) == dtype


def _off_pattern(values: pd.Series, pattern: str) -> np.ndarray:
    """Rows whose value is present and not of the pattern."""
    return (values.notna() & ~values.str.fullmatch(pattern).fillna(True)).to_numpy(dtype=bool)


def _not_allowed(values: pd.Series, allowed: tuple[str, ...]) -> np.ndarray:
    """Rows whose value is present and not allowed (for a category: only if a category is not)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and set(values.cat.categories) <= set(allowed):
        return np.zeros(len(values), dtype=bool)
    return (values.notna() & ~values.astype("object").isin(allowed)).to_numpy(dtype=bool)


def validate(table: pd.DataFrame, findings: pd.DataFrame | None = None) -> list[str]:
    """Check a table against the declaration: every column present, of its dtype, non-null where
    declared, within its allowed values, and of its pattern unless ``findings`` flag the row
    (``Field.flagged_by``; without findings nothing is flagged). Every failure, each with its
    rows (the first 20).

    >>> validate(pd.DataFrame({"source_row": [2]}))[0]
    'missing column: exchange_id'
    >>> t = pd.DataFrame({"source_row": [2, 3], "exchange_id": pd.Series(["EG927FA8", "X1"], dtype="str")})
    >>> [f.split(" at ")[1][:8] for f in validate(t) if f.startswith("exchange_id: not of the pattern")]
    ['rows [3]']
    """
    failures = [f"missing column: {name}" for name in COLUMNS if name not in table.columns]
    rows = table["source_row"] if "source_row" in table.columns else pd.Series(range(len(table)), index=table.index)
    for field in TABLE:
        if field.name not in table.columns:
            continue
        values = table[field.name]
        if not _dtype_ok(values, field.dtype):
            failures.append(f"{field.name}: dtype {values.dtype}, declared {field.dtype}")
            continue
        bad = np.zeros(len(table), dtype=bool)
        if not field.nullable:
            bad |= values.isna().to_numpy(dtype=bool)
        if field.allowed is not None:
            bad |= _not_allowed(values, field.allowed)
        if bad.any():
            failures.append(f"{field.name}: invalid at rows {rows[bad].tolist()[:20]}")
        if field.pattern is not None:
            off = _off_pattern(values, field.pattern)
            if findings is not None and field.flagged_by and off.any():
                flagged = findings.loc[findings["code"] == field.flagged_by, "row"].to_numpy()
                where = np.flatnonzero(off)  # few rows: look only at them
                off = np.zeros(len(table), dtype=bool)
                off[where[~np.isin(rows.to_numpy()[where], flagged)]] = True
            if off.any():
                failures.append(f"{field.name}: not of the pattern {field.pattern} at rows {rows[off].tolist()[:20]}"
                                + (f" (and no '{field.flagged_by}' finding says so)" if field.flagged_by else ""))
    return failures


def require_valid(table: pd.DataFrame, findings: pd.DataFrame | None = None, *, file=None) -> pd.DataFrame:
    """The table, or InputError naming the first failing column and its rows (``validate``).

    >>> require_valid(pd.DataFrame({"source_row": [2]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    cxc_analysis.core.errors.InputError: the table does not match the declared columns: missing column: exchange_id (and ...)
    """

    failures = validate(table, findings)
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise InputError(f"the table does not match the declared columns: {failures[0]}{more}", file=file)
    return table


# The fields a tracker's columns may hold (read by meaning from its headers): the required ones
# and the optional ones.
REQUIRED = ("host_org", "visiting_org", "vo_entity_type", "partnership", "status")
OPTIONAL = ("exchange_id", "event", "remarks", "paying_partnership", "ho_country", "ho_city", "vo_country", "vo_city",
            "start_date", "end_date", "amount_eur")
TRACKER_FIELDS = (*REQUIRED, *OPTIONAL)
RAW_VALUE_FIELDS = ("start_date", "end_date", "amount_eur")  # kept as the cell holds them (dates, numbers)

# The report's own headers: how messages name a field when the tracker's header is unknown.
DISPLAY = {**column_labels(*(f for f in TRACKER_FIELDS if f != "status")), "status": COLUMN_LABELS["status_text"]}
