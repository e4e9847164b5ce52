"""The finding record: one problem in a tracker, with the row a person sees in Excel.

Findings are a DataFrame with the columns ``row, column, severity, code, message``.
``error`` keeps the row out of the KPIs (its message says so); ``warning`` does not.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

FINDING_COLUMNS = ("row", "column", "severity", "code", "message")
SEVERITIES = ("error", "warning")
EXCLUDED_NOTE = " (row excluded from the KPIs)"


def empty_findings() -> pd.DataFrame:
    """A findings table with no rows and the right columns."""
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in FINDING_COLUMNS})


def make_findings(rows: pd.Series, column: str, severity: str, code: str,
                  messages: pd.Series | str) -> pd.DataFrame:
    """Findings for many rows at once; errors get the note that the row is excluded.

    >>> make_findings(pd.Series([4]), "VO", "error", "missing_value", "VO is empty").message[0]
    'VO is empty (row excluded from the KPIs)'
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    note = EXCLUDED_NOTE if severity == "error" else ""
    if isinstance(messages, str):
        messages = pd.Series(messages, index=rows.index, dtype="str")
    return pd.DataFrame({
        "row": rows.astype("int64").to_numpy(),
        "column": column,
        "severity": severity,
        "code": code,
        "message": (messages.astype("str") + note).to_numpy(),
    })


def combine_findings(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One findings table, ordered by row, errors before warnings."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_findings()
    out = pd.concat(frames, ignore_index=True)
    out["row"] = out["row"].astype("int64")
    order = out["severity"].map({"error": 0, "warning": 1})
    return out.assign(_o=order).sort_values(["row", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def error_rows(findings: pd.DataFrame) -> set[int]:
    """The rows that have at least one error."""
    return set(findings.loc[findings["severity"] == "error", "row"].tolist())


# Finding codes in plain words, as a reviewer reads them.
PROBLEMS = {"missing_value": "Required value missing", "unknown_label": "Label not recognised",
            "duplicate_exchange": "Same exchange twice", "malformed_id": "Exchange number not in IT-tool format",
            "duplicate_id": "Exchange number used twice", "formula_like_text": "Text that looks like a formula",
            "unreadable_value": "Value that cannot be read", "ambiguous_value": "Value that reads two ways",
            "not_an_exchange": "Row that is not an exchange", "unknown_country": "Country not recognised",
            "uncertain_date": "Date that cannot be read with certainty",
            "uncertain_participants": "Head count that cannot be read with certainty",
            "unknown_kind": "Kind of activity not recognised", "unsafe_link": "Link that is not http(s) or mailto"}



def problem_words(code: str) -> str:
    """A finding code in plain words (the code itself where it has none).

    >>> problem_words("unknown_label")
    'Label not recognised'
    """
    return PROBLEMS.get(code, str(code).replace("_", " ").capitalize())
