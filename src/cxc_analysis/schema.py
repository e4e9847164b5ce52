"""The canonical exchange table, declared once (the words labels are read with: vocabulary.yaml).

Every step reads its column names, types and allowed values from here: ``clean`` builds
the table to this declaration, ``validate`` checks a table against it (collecting every
failure with its row), the README's table is this list.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ENTITY_TYPES = ("cluster_organisation", "sme", "scaling_up_support_organisation",
                "large_company", "public_authority")
PARTNERSHIP_VALUES = ("inside", "outside")
STATUS_VALUES = ("completed", "pending")
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
}

SINGULAR = {"cluster_organisation": "Cluster organisation", "sme": "SME",
            "scaling_up_support_organisation": "Scaling-up support organisation",
            "large_company": "Large company", "public_authority": "Public authority",
            "inside": "Inside", "outside": "Outside", "completed": "Completed", "pending": "Pending"}


def percent(part: float, whole: float) -> str:
    """A share as reports print it, with one decimal.

    >>> percent(42, 80)
    '52.5%'
    """
    return f"{100 * part / whole:.1f}%"


@dataclass(frozen=True)
class Field:
    """One column of the canonical table."""

    name: str
    dtype: str  # "string", "category", "boolean", "Int64", "int64", "Float64", "datetime"
    description: str
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None


TABLE = (
    Field("source_row", "int64", "Row number as a person sees it in Excel or the CSV file", nullable=False),
    Field("exchange_id", "string", "IT-tool exchange ID (EG + 3 digits + 2 letters + 1 digit); empty if none",
          pattern=EXCHANGE_ID_PATTERN),
    Field("host_org", "string", "Host organisation (HO), spaces normalised"),
    Field("visiting_org", "string", "Visiting organisation (VO), spaces normalised"),
    Field("vo_entity_type", "category", "Type of entity of the VO", allowed=ENTITY_TYPES),
    Field("partnership", "category", "VO inside or outside the partnership", allowed=PARTNERSHIP_VALUES),
    Field("event", "string", "(Group) exchange or event the exchange belongs to"),
    Field("status", "category", "completed, or pending (not yet completed)", allowed=STATUS_VALUES),
    Field("status_text", "string", "The status as written in the tracker"),
    Field("it_tool", "boolean", "Was the CXC IT tool used (false where the tracker says without it)"),
    Field("lump_sum_used", "boolean", "false where the remarks say the lump sum was not used"),
    Field("remarks", "string", "Remarks as written"),
    Field("ho_country", "string", "Host country, ISO 3166 alpha-2"),
    Field("ho_city", "string", "Host city"),
    Field("vo_country", "string", "Visitor country, ISO 3166 alpha-2"),
    Field("vo_city", "string", "Visitor city"),
    Field("start_date", "datetime", "First day of the exchange"),
    Field("end_date", "datetime", "Last day of the exchange"),
    Field("amount_eur", "Float64", "Financial support paid to the visitor, EUR"),
    Field("excluded", "boolean", "True where an error finding keeps the row out of the KPIs", nullable=False),
)
COLUMNS = tuple(f.name for f in TABLE)
FIELDS = {f.name: f for f in TABLE}


def validate(table: pd.DataFrame) -> list[str]:
    """Check a table against the declaration; every failure, each with its rows.

    >>> validate(pd.DataFrame({"source_row": [2]}))[0]
    'missing column: exchange_id'
    """
    failures = [f"missing column: {name}" for name in COLUMNS if name not in table.columns]
    for field in TABLE:
        if field.name not in table.columns:
            continue
        values = table[field.name]
        rows = table["source_row"] if "source_row" in table.columns else pd.Series(range(len(table)))
        bad = pd.Series(False, index=table.index)
        if not field.nullable:
            bad |= values.isna()
        if field.allowed is not None:
            bad |= values.notna() & ~values.astype("object").isin(field.allowed)
        if bad.any():
            failures.append(f"{field.name}: invalid at rows {rows[bad].tolist()[:20]}")
    return failures
