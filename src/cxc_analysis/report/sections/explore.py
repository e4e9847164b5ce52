"""The questions an analyst asks of a partnership's exchanges, one small function each
(``notebooks/03_explore.ipynb``).

Each takes the canonical table (``clean`` / ``processed.read_processed``) and returns a new
frame; none changes its input. Organisation names match whatever their case, accents,
punctuation, plural or legal form (``register.org_key``), events whatever their case, accents or
punctuation; ``find_organisations`` lists the names containing a text, to pick one from.
The country questions read ``ho_country`` / ``vo_country``: fill them from the register first
(``register.fill_locations(table, register.read_register(path))``); an unknown country is never
guessed, so ``country_pairs`` counts those exchanges under "unknown".

``readable`` gives the report's column names, ``styled`` a pandas Styler (no HTML strings):
filter and sort the readable frame with pandas, then style it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import SINGULAR
from cxc_analysis.core.text import fold, fold_many
from cxc_analysis.read.countries import country_code, country_codes
from cxc_analysis.reference.register import org_keys, strip_legal_form
from cxc_analysis.report.processed import read_and_clean
from cxc_analysis.rules.checks import failures

UNKNOWN = "unknown"
READABLE_COLUMNS = {"source_row": "Row", "exchange_id": "Exchange no.", "host_org": "HO", "ho_country": "HO country",
                    "visiting_org": "VO", "vo_country": "VO country", "vo_entity_type": "VO type",
                    "partnership": "Inside/outside", "event": "Event", "status": "Status",
                    "status_text": "Status as written", "role": "Role", "days_since": "Days since"}
PENDING_COLOUR = "background-color: #fff4d6"
EXCLUDED_COLOUR = "color: #8a8a8a; text-decoration: line-through"


# --- reading the tracker ------------------------------------------------------------------

# The command line's reading options and the notebook parameters that do the same.
OPTION_PARAMETERS = (("--columns FILE.yaml", "the columns_path parameter (a YAML file)"),
                     ("--columns", "columns_path"), ("--vocabulary", "vocabulary_path"), ("--sheet", "sheet"))


def parameter_words(message: str) -> str:
    """A reading error's message with each command-line option named as the notebook parameter
    that does the same, for a notebook user.

    >>> parameter_words("Map it with --columns FILE.yaml, e.g. 'host_org: ORG_H'")
    "Map it with the columns_path parameter (a YAML file), e.g. 'host_org: ORG_H'"
    """
    for option, parameter in OPTION_PARAMETERS:
        message = message.replace(option, parameter)
    return message


def read_exchanges(input_path: str = "", sheet: str = "", columns_path: str = "", vocabulary_path: str = ""):
    """The cleaned table and findings of a tracker (empty ``input_path``: the bundled workbook),
    read with an optional sheet, column map and vocabulary file, as ``clean`` reads it; an
    unusable tracker is an InputError that names the notebook parameter to set."""

    try:
        return read_and_clean(input_path or None, sheet or None, columns_path or None, vocabulary_path or None)
    except InputError as exc:
        raise InputError(parameter_words(exc.message), file=exc.file, sheet=exc.sheet, row=exc.row,
                         column=exc.column) from None


# --- organisations and events -------------------------------------------------------------

def _org_keys(values: pd.Series) -> np.ndarray:
    """Normalised names without a legal form at the end ("Sorama B.V." -> "sorama"), as the
    register matches them; missing stays None."""

    return np.array([strip_legal_form(k) if k else None for k in org_keys(values.astype("object"))], dtype=object)


def _org_key(name: str) -> str:
    key = _org_keys(pd.Series([name]))[0]
    if not key:
        raise InputError("no organisation given", file="parameter organisation")
    return key


def find_organisations(table: pd.DataFrame, text: str) -> pd.DataFrame:
    """Organisation names containing ``text`` (case and accents ignored), with how often each
    hosted and visited, most exchanges first.

    >>> t = pd.DataFrame({"host_org": ["NextMove", "ARIA"], "visiting_org": ["Sorama B.V.", "nextmove"]})
    >>> find_organisations(t, "next move").values.tolist()
    [['NextMove', 1, 1]]
    """
    names = pd.concat([table["host_org"], table["visiting_org"]], ignore_index=True).dropna()
    keys = pd.Series(_org_keys(names), index=names.index)
    wanted = _org_key(text)
    compact = keys.str.replace(" ", "", regex=False)
    hit = keys.str.contains(wanted, regex=False) | compact.str.contains(wanted.replace(" ", ""), regex=False)
    if not hit.any():
        return pd.DataFrame({"organisation": pd.Series(dtype="str"), "hosted": pd.Series(dtype="int64"),
                             "visited": pd.Series(dtype="int64")})
    first_name = names[hit].groupby(keys[hit], sort=False).first()
    host_keys, visitor_keys = pd.Series(_org_keys(table["host_org"])), pd.Series(_org_keys(table["visiting_org"]))
    out = pd.DataFrame({"organisation": first_name.to_numpy(),
                        "hosted": [int((host_keys == k).sum()) for k in first_name.index],
                        "visited": [int((visitor_keys == k).sum()) for k in first_name.index]})
    total = out["hosted"] + out["visited"]
    return out.iloc[np.argsort(-total.to_numpy(), kind="stable")].reset_index(drop=True)


def for_organisation(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The exchanges an organisation took part in, as host or as visitor, with its ``role``.

    >>> t = pd.DataFrame({"source_row": [4, 5, 6], "host_org": ["NextMove", "ARIA", "ARIA"],
    ...                   "visiting_org": ["Axxor", "NEXTMOVE", "TNO"]})
    >>> for_organisation(t, "nextmove")[["source_row", "role"]].values.tolist()
    [[4, 'host'], [5, 'visitor']]
    """
    key = _org_key(name)
    host = _org_keys(table["host_org"]) == key
    visitor = _org_keys(table["visiting_org"]) == key
    role = np.where(host & visitor, "host and visitor", np.where(host, "host", "visitor"))
    either = host | visitor
    return table.loc[either].assign(role=pd.Series(role[either], index=table.index[either], dtype="str"))


def for_event(table: pd.DataFrame, event: str) -> pd.DataFrame:
    """The exchanges of one (group) exchange or event, whatever the case, accents or punctuation.

    >>> t = pd.DataFrame({"source_row": [4, 5], "event": ["JEC Paris", "Equip Auto"]})
    >>> for_event(t, "jec  paris")["source_row"].tolist()
    [4]
    """

    wanted = fold(event)
    if not wanted:
        raise InputError("no event given", file="parameter event")
    return table.loc[(fold_many(table["event"].astype("object")).to_numpy(zero_copy_only=False) == wanted)]


def events(table: pd.DataFrame) -> pd.DataFrame:
    """Each event with its number of exchanges, completed, pending and cancelled, largest first.

    >>> t = pd.DataFrame({"event": ["A", "B", "B", "A"], "status": ["completed", "pending", "completed", "cancelled"]})
    >>> events(t).values.tolist()
    [['A', 2, 1, 0, 1], ['B', 2, 1, 1, 0]]
    """
    status = table["status"].astype("object")
    out = pd.DataFrame({"event": table["event"], **{s: (status == s).astype("int64")
                                                     for s in ("completed", "pending", "cancelled")}})
    out = out.groupby("event", sort=False).agg(exchanges=("completed", "size"), completed=("completed", "sum"),
                                               pending=("pending", "sum"), cancelled=("cancelled", "sum"))
    return out.sort_values("exchanges", ascending=False, kind="stable").reset_index()


# --- countries ----------------------------------------------------------------------------

def _country(text: str, parameter: str) -> str:

    code = country_code(text)
    if code is None:
        raise InputError(f"unknown country '{text}' (an ISO code, or a name in English, French, German, Spanish, "
                         "Italian, Dutch, Portuguese or the country's own language, e.g. NL, Pays-Bas or Nederland)",
                         file=f"parameter {parameter}")
    return code


def _codes(table: pd.DataFrame, side: str) -> pd.Series:

    column = f"{side}_country"
    if column not in table.columns:
        return pd.Series(None, index=table.index, dtype="str")
    return country_codes(table[column])


def for_country_pair(table: pd.DataFrame, country: str, other: str = "") -> pd.DataFrame:
    """Exchanges between a host in one country and a visitor in the other, either way round;
    without ``other``, every exchange with the host or the visitor in ``country``. Countries are
    ISO codes or names in the vocabulary's languages or the country's own ("Italia", "Polska");
    exchanges whose country is unknown are in no answer.

    >>> t = pd.DataFrame({"source_row": [4, 5, 6], "ho_country": ["FR", "NL", "FR"],
    ...                   "vo_country": ["Netherlands", "FR", None]})
    >>> for_country_pair(t, "France", "NL")["source_row"].tolist(), for_country_pair(t, "fr")["source_row"].tolist()
    ([4, 5], [4, 5, 6])
    """
    a = _country(country, "country")
    host, visitor = _codes(table, "ho"), _codes(table, "vo")
    if not other:
        return table.loc[((host == a) | (visitor == a)).fillna(False).to_numpy(dtype=bool)]
    b = _country(other, "other_country")
    between = ((host == a) & (visitor == b)) | ((host == b) & (visitor == a))
    return table.loc[between.fillna(False).to_numpy(dtype=bool)]


def country_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Exchanges counted by host country (rows) and visitor country (columns); a country not
    known (empty, or a text that is no country) is counted as "unknown", never guessed.

    >>> t = pd.DataFrame({"ho_country": ["FR", "FR", "ES"], "vo_country": ["NL", None, "FR"]})
    >>> country_pairs(t).loc["FR"].to_dict()
    {'ES': 0, 'FR': 0, 'NL': 1, 'unknown': 1}
    """
    host = _codes(table, "ho").fillna(UNKNOWN).astype("object").rename("HO country")
    visitor = _codes(table, "vo").fillna(UNKNOWN).astype("object").rename("VO country")
    counts = pd.crosstab(host, visitor)
    order = sorted(set(counts.index) | set(counts.columns), key=lambda c: (c == UNKNOWN, c))
    return counts.reindex(index=[c for c in order if c in counts.index], columns=order, fill_value=0)


# --- pending exchanges and problems -------------------------------------------------------

def pending(table: pd.DataFrame, today: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """The exchanges not yet completed, with ``days_since`` the exchange ended (or started, if
    no end date) until ``today`` (default: today); missing where the tracker has no date.
    Longest waiting first, those without a date last, each group in row order.

    >>> t = pd.DataFrame({"source_row": [4, 5, 6, 7], "status": ["pending", "completed", "pending", "pending"],
    ...                   "start_date": pd.to_datetime(["2023-01-02", "2023-01-02", None, "2023-03-01"]),
    ...                   "end_date": pd.to_datetime(["2023-01-06", None, None, None])})
    >>> pending(t, today="2023-03-11")[["source_row", "days_since"]].values.tolist()
    [[4, 64], [7, 10], [6, <NA>]]
    """
    waiting = table.loc[(table["status"].astype("object") == "pending").to_numpy(dtype=bool)]
    today = pd.Timestamp(today if today is not None else pd.Timestamp.now()).normalize()
    when = pd.Series(pd.NaT, index=waiting.index, dtype="datetime64[ns]")
    for column in ("end_date", "start_date"):
        if column in waiting.columns:
            when = when.fillna(pd.to_datetime(waiting[column]))
    days = (today - when).dt.days.astype("Int64")
    out = waiting.assign(days_since=days)
    return out.sort_values(["days_since", "source_row"], ascending=[False, True], na_position="last", kind="stable")


def organisation_issues(table: pd.DataFrame, findings: pd.DataFrame, results: pd.DataFrame | None,
                        name: str) -> pd.DataFrame:
    """The findings and the rule fails and warnings (``rules.check_rules``) on the exchanges of
    one organisation: ``row``, ``role``, ``source`` ("finding" or "rule"), ``what`` (finding code
    or rule), ``severity`` (error / fail / warning) and ``message``, by row.

    >>> t = pd.DataFrame({"source_row": [4, 5], "host_org": ["A", "B"], "visiting_org": ["X", "A"]})
    >>> f = pd.DataFrame({"row": [5], "column": ["VO"], "severity": ["warning"], "code": ["malformed_id"],
    ...                   "message": ["EG1 is not an IT-tool ID"]})
    >>> r = pd.DataFrame({"row": [4, 4], "rule": ["cross_border", "distance"], "outcome": ["fail", "pass"],
    ...                   "severity": [None, None], "message": ["both in FR", "412 km"]})
    >>> organisation_issues(t, f, r, "a")[["row", "role", "what", "severity"]].values.tolist()
    [[4, 'host', 'cross_border', 'fail'], [5, 'visitor', 'malformed_id', 'warning']]
    """

    roles = for_organisation(table, name).set_index("source_row")["role"]
    parts = [findings.loc[findings["row"].isin(roles.index)]
             .assign(source="finding", what=lambda f: f["code"].astype("str"))]
    if results is not None:
        fails = failures(results)
        fails = fails.loc[fails["row"].isin(roles.index)]
        parts.append(fails.assign(source="rule", what=fails["rule"].astype("str"),
                                  severity=fails["severity"].fillna("fail").astype("str"),
                                  message=fails["message"].str.replace(r"^warning:\s*", "", regex=True)))
    columns = ["row", "source", "what", "severity", "message"]
    out = pd.concat([p[columns].astype({"severity": "str", "message": "str"}) for p in parts], ignore_index=True)
    out = out.sort_values(["row", "source"], kind="stable").reset_index(drop=True)
    out.insert(1, "role", roles.reindex(out["row"]).to_numpy())
    return out


# --- showing ------------------------------------------------------------------------------

def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The exchanges with the report's column names and labels, for looking at, filtering and
    sorting with pandas; ``Counted`` says whether a row counts in the KPIs (not with an error, nor
    cancelled).

    >>> t = pd.DataFrame({"source_row": [4], "visiting_org": ["Axxor"], "vo_entity_type": ["sme"],
    ...                   "status": ["pending"], "excluded": [False]})
    >>> readable(t).values.tolist()
    [[4, 'Axxor', 'SME', 'Pending', 'yes']]
    """
    out = pd.DataFrame(index=table.index)
    for column, title in READABLE_COLUMNS.items():
        if column in table.columns:
            values = table[column]
            if column in ("vo_entity_type", "partnership", "status"):
                values = values.astype("object").map(SINGULAR.get, na_action="ignore").astype("str")
            out[title] = values
    if "excluded" in table.columns:
        counted = ~table["excluded"].fillna(False).astype(bool)
        cancelled = table["status"].astype("object").eq("cancelled") if "status" in table.columns else False
        out["Counted"] = counted.map({True: "yes", False: "no (error)"}).astype("str").where(
            ~(counted & cancelled), "no (cancelled)")
    return out.reset_index(drop=True)


def _row_style(row: pd.Series) -> list[str]:
    style = ""
    if row.get("Status") == "Pending":
        style = PENDING_COLOUR
    if str(row.get("Counted", "yes")) != "yes":
        style = EXCLUDED_COLOUR
    return [style] * len(row)


def styled(frame: pd.DataFrame, caption: str | None = None):
    """A frame as a pandas Styler: no index, missing values as "–", text left-aligned, names
    escaped (a name like ``<b>`` shows as text), pending exchanges tinted, rows not counted greyed
    and struck out.

    >>> html = styled(pd.DataFrame({"VO": ["<b>"], "Status": ["Pending"]}), caption="Pending").to_html()
    >>> "&lt;b&gt;" in html and "#fff4d6" in html and "Pending</caption>" in html
    True
    """
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    styler = frame.style.hide(axis="index").format(na_rep="–", escape="html", precision=1)
    styler = styler.set_properties(subset=text, **{"text-align": "left"})  # JupyterLab right-aligns every cell
    styler = styler.apply(_row_style, axis=1).set_table_styles(
        [{"selector": "th", "props": "text-align: left"}, {"selector": "caption", "props": "font-weight: bold"}])
    return styler.set_caption(caption) if caption else styler
