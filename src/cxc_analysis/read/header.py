"""How a tracker's header row is found and read: the header words matched to fields by meaning
(the vocabulary), a column map (``--columns``), a two-row header combined, the hints when no header is
understood; the reading's state (``current_reading``) shared by the workbook and CSV readers."""

from __future__ import annotations

import contextvars
from pathlib import Path

from cxc_analysis.core.config import HEADER_SCAN_ROWS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import DISPLAY, REQUIRED, TRACKER_FIELDS
from cxc_analysis.core.yamlfile import read_yaml
from cxc_analysis.read.vocabulary import load_vocabulary


class Reading:
    """How this read finds its header (vocabulary, column map) and what it found (headers, ignored)."""

    def __init__(self, columns: dict[str, str] | None = None, vocabulary=None):

        self.columns = dict(columns or {})
        self.vocabulary = vocabulary or load_vocabulary()
        self.headers: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        self.header_row: int | None = None
        self.ignored: list[str] = []
        self.fields: tuple[str, ...] | None = None  # only these fields' values are wanted (None: all)
        self.sheets: list[dict] = []  # the sheets read: name, rows, first source_row, header row, headers
        self.skipped_sheets: list[tuple[str, str, bool]] = []  # sheets not read, why, and if a header was half there
        self.totals_rows: list[int] = []  # source_rows of an Excel Table's totals row



READING: contextvars.ContextVar[Reading | None] = contextvars.ContextVar("cxc_reading", default=None)



def current_reading() -> Reading:
    return READING.get() or Reading()



def _cell_header(cell: object) -> str:
    return " ".join(str(cell).split()) if cell is not None else ""



def match_header(row: list, reading: Reading | None = None) -> dict[int, str]:
    """Map the positions of a candidate header row onto canonical fields: the column map first,
    then the vocabulary (first match wins; ``header_conflicts`` says where two cells match one field).

    >>> match_header(["Exchange no.", "Type of entity (VO)", "Organisation d'accueil", "Notes"])
    {0: 'exchange_id', 1: 'vo_entity_type', 2: 'host_org', 3: 'remarks'}
    """
    reading = reading or current_reading()
    texts = [_cell_header(cell) for cell in row]
    mapping: dict[int, str] = {}
    for field, header in reading.columns.items():
        position = _position(texts, header)
        if position is not None:
            mapping[position] = field
    mapped = set(mapping.values())
    for position, (text, field) in enumerate(zip(texts, reading.vocabulary.fields_for(texts))):
        if position in mapping or not text:
            continue
        if field and field not in mapped:
            mapping[position] = field
            mapped.add(field)
    return dict(sorted(mapping.items()))



def _position(texts: list[str], header: str) -> int | None:
    """Where a column-map header stands in a row: exactly as written, else whatever its case."""
    wanted = _cell_header(header)
    for same in (lambda t: t == wanted, lambda t: t.casefold() == wanted.casefold()):
        found = [i for i, t in enumerate(texts) if same(t)]
        if found:
            return found[0]
    return None



def header_conflicts(row: list, reading: Reading | None = None) -> dict[str, list[str]]:
    """Fields that two or more cells of a header row name (column-mapped fields excepted).

    >>> header_conflicts(["HO", "Host organisation", "VO"])
    {'host_org': ['HO', 'Host organisation']}
    """
    reading = reading or current_reading()
    found: dict[str, list[str]] = {}
    texts = [_cell_header(cell) for cell in row]
    for text, field in zip(texts, reading.vocabulary.fields_for(texts)):
        if field and field not in reading.columns:
            found.setdefault(field, []).append(text)
    return {field: texts for field, texts in found.items() if len(texts) > 1}



def find_header(rows: list[list], *, file: Path, sheet: str | None = None) -> tuple[int, dict[int, str]]:
    """Index of the header row among the first rows, and its column mapping.

    Raises InputError naming the missing required columns (with the tracker's headers that
    matched nothing, the closest of them and how to map it with ``--columns``), two headers
    that name one field, or column-map headers the tracker does not have.
    """
    reading = current_reading()
    best: tuple[int, dict[int, str]] | None = None
    scanned = rows[:HEADER_SCAN_ROWS]
    for index, row in enumerate(scanned):
        mapping = match_header(row, reading)
        if _complete(mapping):
            lower = scanned[index + 1] if index + 1 < len(scanned) else None
            if lower is not None and _continues_header(row, lower, mapping):
                combined = combine_header_rows(row, lower)
                both = match_header(combined, reading)
                if set(mapping.values()) < set(both.values()):  # words under the header's own ("Start", "End")
                    return _accept_header(combined, index + 1, both, reading, file, sheet,
                                          below=scanned[index + 2:HEADER_SCAN_ROWS])
            return _accept_header(row, index, mapping, reading, file, sheet,
                                  below=scanned[index + 1:HEADER_SCAN_ROWS])
        if index + 1 < len(scanned) and not _complete(match_header(scanned[index + 1], reading)):
            combined = combine_header_rows(row, scanned[index + 1])
            both = match_header(combined, reading)
            if _complete(both):  # a two-row header ("Dates" over "Start" / "End"): the data starts below both
                return _accept_header(combined, index + 1, both, reading, file, sheet,
                                      below=scanned[index + 2:HEADER_SCAN_ROWS])
        if len(mapping) >= 2 and (best is None or len(mapping) > len(best[1])):
            best = (index, mapping)
    if best is None:
        raise InputError(f"no header row with the exchange columns in the first {HEADER_SCAN_ROWS} rows "
                         "(expected HO, VO, VO Type of entity, Inside/outside partnership, Status, in any of "
                         "the vocabulary's languages; map other headers with --columns)", file=file, sheet=sheet)
    index, mapping = best
    _check_column_map(rows[index], reading, file, sheet)
    missing = [f for f in REQUIRED if f not in mapping.values()]
    texts = [_cell_header(c) for c in rows[index]]
    unmatched = [t for p, t in enumerate(texts) if t and p not in mapping]
    closest = reading.vocabulary.closest(unmatched, missing[0]) if unmatched else None
    hint = (f"headers that matched nothing: {_quoted(unmatched)}" if unmatched else "no other headers")
    if closest:
        hint += f"; did you mean '{short(closest)}'?"
    example = f"{missing[0]}: {short(closest) if closest else DISPLAY[missing[0]]}"
    raise InputError(f"required column missing: {', '.join(f'{DISPLAY[f]} ({f})' for f in missing)} "
                     f"(header row {index + 1}; {hint} Map it with --columns FILE.yaml, e.g. '{example}')",
                     file=file, sheet=sheet, column=DISPLAY[missing[0]])



def _complete(mapping: dict[int, str]) -> bool:
    return all(field in mapping.values() for field in REQUIRED)



def _continues_header(upper: list, lower: list, mapping: dict[int, str]) -> bool:
    """Whether ``lower`` may be a header's second row: text only, and empty (or the same, merged
    down) under every column the header row names, so never a row of data."""
    if any(cell is not None and not isinstance(cell, str) for cell in lower):
        return False
    texts = [_cell_header(cell) for cell in lower]
    return any(texts) and all(position >= len(texts) or not texts[position]
                              or texts[position] == _cell_header(upper[position]) for position in mapping)



def combine_header_rows(upper: list, lower: list) -> list[str]:
    """One header row from a two-row header: each column's words from both rows (one of them
    where the other is empty or says the same, as a cell merged down both rows does).

    >>> combine_header_rows(["HO", "Dates", "Dates"], ["HO", "Start", "End"])
    ['HO', 'Dates Start', 'Dates End']
    """
    width = max(len(upper), len(lower))
    out = []
    for position in range(width):
        top = _cell_header(upper[position]) if position < len(upper) else ""
        bottom = _cell_header(lower[position]) if position < len(lower) else ""
        out.append(top if not bottom or top == bottom else bottom if not top else f"{top} {bottom}")
    return out



def _accept_header(row, index, mapping, reading, file, sheet, below=()) -> tuple[int, dict[int, str]]:
    _check_column_map(row, reading, file, sheet)
    conflicts = header_conflicts(row, reading)
    if conflicts:
        field, texts = next(iter(conflicts.items()))
        counters = _row_counters(row, texts, below)
        chosen = next((t for t in texts if t not in counters), texts[0])
        aside = (f" ({_quoted(counters)} only counts the rows: 1, 2, 3, ...)"
                 if counters and chosen not in counters else "")
        raise InputError(f"two columns name {DISPLAY[field]} ({field}): {_quoted(texts)}{aside}; keep one, or say "
                         f"which with --columns (e.g. '{field}: {short(chosen)}')",
                         file=file, sheet=sheet, row=index + 1, column=texts[1])
    texts = [_cell_header(c) for c in row]
    reading.headers = {field: texts[position] for position, field in mapping.items()}
    reading.positions = {field: position for position, field in mapping.items()}
    reading.header_row = index + 1
    reading.ignored = [t for p, t in enumerate(texts) if t and p not in mapping]
    return index, mapping



def _row_counters(row: list, texts: list[str], below) -> list[str]:
    """Of the headers ``texts``, those whose column below the header (the rows read so far) holds
    only 1, 2, 3, ...: a row counter, not an ID a person gave the exchange.

    >>> _row_counters(["N°", "Exchange no."], ["N°", "Exchange no."], [[1, "EX-07"], ["2", "EX-09"], [3.0, None]])
    ['N°']
    """
    out = []
    for position, text in enumerate(_cell_header(cell) for cell in row):
        if text not in texts or text in out:
            continue
        values = [cell for cells in below if position < len(cells)
                  for cell in [cells[position]] if cell is not None and str(cell).strip()]
        if values and [_whole(v) for v in values] == list(range(1, len(values) + 1)):
            out.append(text)
    return out



def _whole(value: object) -> int | None:
    """A cell's whole number (1, 1.0, "1"), or None."""
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None



def _check_column_map(row, reading, file, sheet) -> None:
    texts = [_cell_header(c) for c in row]
    for field, header in reading.columns.items():
        if _position(texts, header) is None:
            raise InputError(f"--columns maps {field} to '{short(header)}', but the header row has no such "
                             f"column (headers: {_quoted([t for t in texts if t])})", file=file, sheet=sheet,
                             column=short(header))



def short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"



def _quoted(texts: list[str], limit: int = 12) -> str:
    shown = ", ".join(f"'{short(t, 40)}'" for t in texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")



def read_column_map(path: str | Path) -> dict[str, str]:
    """A ``--columns`` file: canonical field -> the header exactly as the tracker writes it.

    InputError for an unknown field name or a header that is not text.
    """
    data = read_yaml(path)
    out = {}
    for field, header in data.items():
        if field not in TRACKER_FIELDS:
            raise InputError(f"unknown field '{short(str(field), 40)}' (fields: {', '.join(TRACKER_FIELDS)})", file=path)
        if not isinstance(header, (str, int, float)) or isinstance(header, bool) or not str(header).strip():
            raise InputError(f"{field}: expected the tracker's header as text", file=path)
        out[field] = str(header)
    return out
