"""The promotion and dissemination log: a CSV or xlsx with one activity per row.

Headers are read by meaning in the seven languages the trackers are written in (en, fr, de, es,
it, nl, pt), compared as keys (case, accents, punctuation and plurals do not matter). The cells
come back as they are (text, or the number or date a workbook cell holds) with ``source_row``,
the row a person sees in Excel; reading dates and head counts is ``table.activities``' work.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.text import key
from cxc_analysis.read.csvfile import decode_csv, sniff_delimiter
from cxc_analysis.read.tracker import CSV_SUFFIXES, EXCEL_SUFFIXES

ACTIVITY_FIELDS = ("date", "activity", "kind", "place", "participants", "link", "partner")
REQUIRED_ACTIVITY_FIELDS = ("date", "activity", "kind")
ACTIVITY_HEADER = ("Date", "Activity", "Kind", "Place", "Participants", "Link", "Partner")  # the starter's header
HEADER_SCAN_ROWS = 10  # a title row or two may stand above the header

# Header words per field: en, fr, de, es, it, nl, pt (compared as keys).
ACTIVITY_HEADERS = {
    "date": ["date", "day", "when", "datum", "fecha", "data", "dia", "giorno", "jour", "tag"],
    "activity": ["activity", "activity name", "description", "title", "name", "what",
                 "activite", "titre", "aktivitat", "titel", "beschreibung", "bezeichnung",
                 "actividad", "descripcion", "titulo", "attivita", "descrizione", "titolo",
                 "activiteit", "omschrijving", "beschrijving", "atividade", "descricao"],
    "kind": ["kind", "type", "category", "kind of activity", "type of activity", "activity type", "format",
             "genre", "categorie", "type d activite", "art", "typ", "kategorie", "art der aktivitat",
             "tipo", "categoria", "tipo de actividad", "tipo di attivita", "soort", "soort activiteit",
             "tipo de atividade"],
    "place": ["place", "location", "venue", "city", "where", "lieu", "ville", "endroit", "ort", "stadt",
              "veranstaltungsort", "lugar", "ciudad", "luogo", "citta", "sede", "plaats", "locatie", "stad",
              "local", "cidade"],
    "participants": ["participants", "participant", "head count", "headcount", "attendees", "attendance",
                     "people reached", "number of participants", "audience", "nombre de participants",
                     "teilnehmer", "teilnehmende", "teilnehmerzahl", "anzahl teilnehmer", "participantes",
                     "asistentes", "numero de participantes", "partecipanti", "numero di partecipanti",
                     "deelnemers", "aantal deelnemers", "numero de participantes"],
    "link": ["link", "url", "web", "website", "evidence", "lien", "site", "verweis", "enlace", "collegamento",
             "ligacao", "hyperlink"],
    "partner": ["partner", "by", "organiser", "organizer", "done by", "responsible", "partenaire",
                "organisateur", "veranstalter", "socio", "organizador", "organizzatore",
                "organisator", "parceiro", "organizacao"],
}
_HEADER_KEYS = {key(word): field for field, words in ACTIVITY_HEADERS.items() for word in words}


def activity_field(header: object) -> str | None:
    """The field a header names, or None.

    >>> activity_field("Teilnehmer"), activity_field("Type d'activité"), activity_field("Remarks")
    ('participants', 'kind', None)
    """
    return _HEADER_KEYS.get(key(header)) if header is not None else None


def read_activities(path: str | Path) -> pd.DataFrame:
    """The log as ``source_row`` + one column per field found (missing optional fields empty).

    InputError (exit 2) for a missing or unreadable file, or a header without date, activity
    and kind. ``attrs``: ``file``, ``sheet``, ``headers`` (field -> the log's own header).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("activities log not found" if not path.exists() else "not a file", file=path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        rows, sheet = _workbook_rows(path)
    elif suffix in CSV_SUFFIXES:
        rows, sheet = _csv_rows(path), None
    else:
        raise InputError(f"unsupported file type '{suffix}' for the activities log (use .csv or .xlsx)", file=path)
    index, mapping = _find_header(rows, path, sheet)
    records = []
    for number, row in enumerate(rows[index + 1:], start=index + 2):
        values = {field: _cell(row[position]) if position < len(row) else None for position, field in mapping.items()}
        if all(value is None for value in values.values()):
            continue  # a blank row
        records.append({"source_row": number, **values})
    frame = pd.DataFrame(records, columns=["source_row", *ACTIVITY_FIELDS])
    frame = frame.astype({"source_row": "int64"}) if len(frame) else frame
    frame.attrs.update(file=str(path), sheet=sheet, headers={f: str(rows[index][p]).strip() for p, f in mapping.items()})
    return frame


def _cell(value: object) -> object:
    """A cell as read: stripped text, a number or a date; empty text is missing."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def _workbook_rows(path: Path) -> tuple[list[list], str]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        wanted = [n for n in names if key(n) in {key("activities"), key("promotion"), key("activity log")}]
        name = (wanted or names)[0]
        return workbook.get_sheet_by_name(name).to_python(skip_empty_area=False), name
    except InputError:
        raise
    except Exception as exc:  # a corrupt or encrypted workbook: the reader's own words
        raise InputError(f"cannot read workbook: {type(exc).__name__}: {str(exc)[:200]}", file=path) from None


def _csv_rows(path: Path) -> list[list]:
    text = decode_csv(path.read_bytes(), path)
    delimiter = sniff_delimiter(text.splitlines()[:HEADER_SCAN_ROWS])
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"cannot read CSV: {exc}", file=path) from None


def _find_header(rows: list[list], path: Path, sheet: str | None) -> tuple[int, dict[int, str]]:
    """The first row (of the first few) naming date, activity and kind; its columns by field."""
    best: dict[int, str] = {}
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping: dict[int, str] = {}
        for position, cell in enumerate(row):
            field = activity_field(cell)
            if field and field not in mapping.values():
                mapping[position] = field
        if set(REQUIRED_ACTIVITY_FIELDS) <= set(mapping.values()):
            return index, mapping
        if len(mapping) > len(best):
            best = mapping
    missing = [f for f in REQUIRED_ACTIVITY_FIELDS if f not in best.values()]
    raise InputError(f"activities log: required column{'s' if len(missing) > 1 else ''} missing: "
                     f"{', '.join(missing)} (expected a header such as {', '.join(ACTIVITY_HEADER)})",
                     file=path, sheet=sheet)
