"""The promotion log's table: dates, kinds and head counts read with certainty or reported.

A date or head count that cannot be read with certainty ("ca. 30", "33 participants", "spring")
is a finding with its row and is left unknown, never guessed; an activity without a date is kept
as undated. Kinds are read by meaning in the seven languages; an unknown kind is a finding.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from cxc_analysis.core.parse import MONTH_WORDS, parse_dates
from cxc_analysis.core.text import fold, key
from cxc_analysis.table.findings import combine_findings, empty_findings, make_findings

KINDS = ("online", "digital_event", "physical_event", "video", "publication", "other")
KIND_LABELS = {"online": "Online promotion", "digital_event": "Digital event", "physical_event": "Physical event",
               "video": "Video", "publication": "Publication or mailing", "other": "Other",
               "unknown": "Kind not recognised"}
# What a log may write for each kind: en, fr, de, es, it, nl, pt (compared as keys).
KIND_WORDS = {
    "online": ["online", "online promotion", "website", "web", "social media", "linkedin", "twitter", "post",
               "en ligne", "promotion en ligne", "site web", "reseaux sociaux", "online werbung", "webseite",
               "soziale medien", "en linea", "promocion en linea", "sitio web", "redes sociales", "in linea",
               "promozione online", "sito web", "social", "online promotie", "sociale media", "em linha",
               "promocao online", "sitio", "redes sociais"],
    "digital_event": ["digital event", "online event", "virtual event", "webinar", "online meeting",
                      "online presentation", "evenement numerique", "evenement en ligne", "webinaire",
                      "digitale veranstaltung", "online veranstaltung", "virtuelle veranstaltung",
                      "evento digital", "evento en linea", "evento virtual", "seminario web", "evento digitale",
                      "evento online", "digitaal evenement", "online evenement", "evento virtual"],
    "physical_event": ["physical event", "event", "promotional event", "in person event", "meeting", "conference",
                       "congress", "fair", "trade fair", "workshop", "presentation", "evenement",
                       "evenement physique", "reunion", "conference", "salon", "veranstaltung",
                       "prasenzveranstaltung", "treffen", "konferenz", "kongress", "messe", "evento",
                       "evento presencial", "conferencia", "feria", "evento in presenza", "riunione",
                       "conferenza", "fiera", "evenement", "fysiek evenement", "bijeenkomst", "conferentie",
                       "beurs", "reuniao", "feira", "congresso", "congreso"],
    "video": ["video", "film", "clip", "interview video", "youtube"],
    "publication": ["publication", "newsletter", "mailing", "article", "press release", "brochure",
                    "lettre d information", "communique de presse", "publikation", "rundbrief", "pressemitteilung",
                    "publicacion", "boletin", "nota de prensa", "pubblicazione", "comunicato stampa",
                    "publicatie", "nieuwsbrief", "persbericht", "publicacao", "boletim informativo"],
    "other": ["other", "autre", "sonstige", "andere", "otro", "altro", "overig", "ander", "outro"],
}
_KIND_KEYS = {key(word): kind for kind, words in KIND_WORDS.items() for word in words}
_WHOLE = re.compile(r"^\d{1,7}$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")


def activity_kind(text: object) -> str | None:
    """The kind a cell names, or None when it names none (a finding).

    >>> activity_kind("Digitale Veranstaltung"), activity_kind("Vidéo"), activity_kind("gala")
    ('digital_event', 'video', None)
    """
    return _KIND_KEYS.get(key(text)) if text is not None else None


def head_count(value: object) -> int | None:
    """A head count read with certainty: a whole number, written as one; otherwise None.

    >>> head_count(33), head_count("33"), head_count(33.0), head_count("ca. 30"), head_count("33 participants")
    (33, 33, 33, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value == value and value >= 0 and value.is_integer() else None
    text = str(value).strip()
    return int(text) if _WHOLE.match(text) else None


def month_only(value: object) -> dt.date | None:
    """The month of a date written without its day ("December 2022", "2022-12"), else None.

    >>> month_only("December 2022"), month_only("déc. 2022"), month_only("2022-12"), month_only("winter")
    (datetime.date(2022, 12, 1), datetime.date(2022, 12, 1), datetime.date(2022, 12, 1), None)
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _YEAR_MONTH.match(text)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
    else:
        words = re.findall(r"[a-z]+|\d+", fold(text).casefold())
        months = [MONTH_WORDS[w] for w in words if w in MONTH_WORDS]
        years = [int(w) for w in words if w.isdigit() and len(w) == 4]
        if len(months) != 1 or len(years) != 1 or len(words) != 2:
            return None
        year, month = years[0], months[0]
    return dt.date(year, month, 1) if 1 <= month <= 12 and 1900 <= year <= 2100 else None


def clean_activities(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The log's table (date, month, date_shown, activity, kind, kind_text, place, participants,
    participants_text, link, partner, source_row) and its findings; ``raw`` is not changed."""
    rows = raw["source_row"]
    cells = raw["date"].astype("object")
    written = cells.notna()
    as_text = cells.map(lambda v: v.strftime("%Y-%m-%d") if isinstance(v, (dt.date, dt.datetime)) else v,
                        na_action="ignore")
    parsed = parse_dates(as_text.where(written, None)) if len(raw) else None
    dates = parsed.values if parsed is not None else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    months = pd.Series([month_only(v) if (p is not None and pd.isna(d)) else None
                        for v, p, d in zip(as_text, parsed.problem if parsed is not None else [], dates)],
                        index=raw.index, dtype="object") if len(raw) else pd.Series(dtype="object")
    by_month = months.notna()
    problem = (parsed.problem.where(~by_month, None) if parsed is not None else pd.Series(dtype="object"))
    month = pd.Series(pd.to_datetime(dates).dt.to_period("M").dt.to_timestamp(), index=raw.index)
    month = month.where(~by_month, pd.to_datetime(months.where(by_month, None)))
    shown = pd.Series(pd.to_datetime(dates).dt.strftime("%Y-%m-%d"), index=raw.index).astype("object")
    shown = shown.where(~by_month, month.dt.strftime("%Y-%m"))
    shown = shown.where(shown.notna(), as_text.astype("object").map(lambda v: f"undated ({v})", na_action="ignore")
                        .where(written, "undated"))
    kinds = raw["kind"].map(activity_kind)
    counts = raw["participants"].map(head_count)
    table = pd.DataFrame({
        "source_row": rows.astype("int64"),
        "date": pd.to_datetime(dates),
        "month": month,
        "date_shown": shown.astype("str"),
        "activity": raw["activity"].astype("object"),
        "kind": kinds.where(kinds.notna(), None).fillna("unknown").astype("str"),
        "kind_text": raw["kind"].astype("object"),
        "place": raw["place"].astype("object"),
        "participants": pd.array(counts.tolist(), dtype="Int64"),
        "participants_text": raw["participants"].astype("object"),
        "link": raw["link"].astype("object"),
        "partner": raw["partner"].astype("object"),
    }, index=raw.index)
    return table, _findings(raw, table, problem)


def _findings(raw: pd.DataFrame, table: pd.DataFrame, problem: pd.Series) -> pd.DataFrame:
    headers = raw.attrs.get("headers", {})
    found = [empty_findings()]
    bad_date = problem.notna() if len(problem) else pd.Series(False, index=raw.index)
    if bad_date.any():
        found.append(make_findings(table.loc[bad_date, "source_row"], headers.get("date", "date"), "warning",
                                   "uncertain_date", raw.loc[bad_date, "date"].map(
                                       lambda v: f"date '{v}' cannot be read with certainty: listed as undated")))
    unread = raw["participants"].notna() & table["participants"].isna()
    if unread.any():
        found.append(make_findings(table.loc[unread, "source_row"], headers.get("participants", "participants"),
                                   "warning", "uncertain_participants", raw.loc[unread, "participants"].map(
                                       lambda v: f"head count '{v}' is not a whole number: not counted in "
                                                 "the participants reached")))
    unknown = raw["kind"].notna() & (table["kind"] == "unknown")
    if unknown.any():
        found.append(make_findings(table.loc[unknown, "source_row"], headers.get("kind", "kind"), "warning",
                                   "unknown_kind", raw.loc[unknown, "kind"].map(
                                       lambda v: f"kind '{v}' is not one the log vocabulary knows")))
    no_kind = raw["kind"].isna()
    if no_kind.any():
        found.append(make_findings(table.loc[no_kind, "source_row"], headers.get("kind", "kind"), "warning",
                                   "missing_value", "the activity has no kind"))
    no_name = raw["activity"].isna()
    if no_name.any():
        found.append(make_findings(table.loc[no_name, "source_row"], headers.get("activity", "activity"),
                                   "warning", "missing_value", "the activity has no description"))
    links = raw["link"].astype("object")
    bad_link = links.notna() & ~links.astype("str").str.match(r"(?i)^(https?://|mailto:)")
    if bad_link.any():
        found.append(make_findings(table.loc[bad_link, "source_row"], headers.get("link", "link"), "warning",
                                   "unsafe_link", "link is not http(s) or mailto: shown as text, not linked"))
    return combine_findings(found).sort_values("row", kind="stable").reset_index(drop=True)
