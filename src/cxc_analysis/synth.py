"""Synthetic exchange trackers for scale tests and benchmarks.

A tracker as partners keep them: the D5.1 report's headers, labels written in several
cases and spellings ("SME's", "smes", "Cluster Organization", " Inside ", "OUTSIDE"),
blank and some malformed exchange numbers, a share of pending exchanges ("Waiting for
Final Activity Report") and of "Completed, but without the IT tool". Every HO / VO /
(group) exchange combination is unique, so the only ``duplicate_exchange`` errors are the
``duplicates`` copies asked for, and the exchange numbers never repeat except on those copies.

Deterministic for a seed (one ``numpy.random.Generator``), vectorised: each column is an
index into a small dictionary of texts, so a million rows take about a second to generate
and another to write as CSV (xlsx is written by openpyxl, about 12,000 rows a second).
:func:`synth_tracker` returns the table and its ground truth, counted from the generator's
own canonical codes (not through ``clean``), so tests and benchmarks can check the KPIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError

HEADERS = ("Exchange no.", "HO", "VO", "VO Type of entity", "Inside/outside partnership",
           "(Group) exchange", "Status", "Remarks")

# Canonical code -> the ways trackers write it (all must map back through the vocabulary).
ENTITY_TYPE_SPELLINGS = {
    "cluster_organisation": ("cluster organisation", "Cluster organisation", "Cluster Organization",
                             "cluster organisations", "CLUSTER ORGANISATION", " Cluster organizations "),
    "sme": ("SME", "SME's", "smes", "SMEs", "sme", " SME "),
    "scaling_up_support_organisation": ("scaling-up support organisation", "Scaling-up support organisation",
                                        "scale-up support organisations", "Scaling-Up Support Organizations"),
    "large_company": ("large company", "Large company", "Large companies", "LARGE COMPANY"),
    "public_authority": ("public authority", "Public authority", "public authorities", "Public Authorities"),
}
ENTITY_TYPE_SHARES = {"cluster_organisation": 0.25, "sme": 0.45, "scaling_up_support_organisation": 0.07,
                      "large_company": 0.13, "public_authority": 0.10}
PARTNERSHIP_SPELLINGS = {
    "inside": ("Inside", "inside", " Inside ", "INSIDE", "Inside partnership"),
    "outside": ("Outside", "outside", "OUTSIDE", " Outside", "Outside partnership"),
}
COMPLETED_WITH_TOOL = ("Completed", "completed", "COMPLETED", "Completed ")
COMPLETED_WITHOUT_TOOL = ("Completed, but without the IT tool",)
PENDING = ("Waiting for Final Activity Report", "waiting for final activity report", "Pending", "Ongoing")
REMARKS = ("Established without IT tool", "has not made use of the lump sum", "Final report received",
           "Follow-up visit planned", "Invoice sent, payment after the report")

HOSTS = ("NextMove", "ARIA Hauts-de-France", "Instituto Aragones del Fomento",
         "Basque Mobility and Logistics Cluster, MLC ITS Euskadi", "AVIA Valencia", "Business Tampere",
         "Strategische Partnerschaft Sensorik e.V.", "SAMS Norway", "Automobiliski klaster Srbije",
         "Ukrainian Automotive and Mobility Cluster", "CompositesNL", "Brainport Development",
         "AGORIA", "FME", "Automotive Campus", "Agricultural ICT Cluster (AgroIT Nonprofit Ltd.)")
EVENTS = ("Cluster Mission in Paris", "Equip Auto", "Innovation Mission Hauts-de-France", "JEC Paris",
          "Mission to the Basque Country", "Smart City Expo Barcelona", "Hannover Messe", "IAA Mobility Munich",
          "Automotive Meetings Tangier", "Mobility Summit Tampere", "Composites Europe Stuttgart",
          "Battery Show Europe", "Automechanika Frankfurt", "EVS Oslo", "ITS European Congress",
          "Cluster Days Zaragoza", "Hydrogen Technology Expo", "Sensor+Test Nuremberg",
          "Brainport Industries Campus visit", "Matchmaking Kyiv Mobility", "Logistics week Bilbao",
          "AgroIT field days", "Serbian Automotive Forum", "Green Mobility Valencia")
YEARS = (2022, 2023, 2024, 2025)
VO_PREFIXES = ("Nord", "Alpine", "Baltic", "Iberia", "Danube", "Rhine", "Adria", "Atlantic", "Carpathia",
               "Flanders", "Brabant", "Aragon", "Basque", "Tampere", "Lyon", "Porto", "Silesia", "Moravia",
               "Vojvodina", "Kyiv", "Twente", "Limburg", "Saxony", "Bavaria", "Oslofjord", "Nextérité",
               "Zoë", "Sorama", "Kalpana", "Axxor")
VO_CORES = ("Composites", "Mobility", "Sensorik", "Automotive", "Logistics", "Robotics", "Batteries",
            "Hydrogen", "Photonics", "Mechatronics", "Software", "Materials", "Drives", "E-Motion",
            "Smart Systems", "Lightweight", "Testing", "Engineering", "Cluster", "Innovation Centre")
VO_FORMS = ("GmbH", "B.V.", "S.L.", "Ltd", "SAS", "Oy", "e.V.", "AB", "S.p.A.", "d.o.o.", "", "Group")

ID_SPACE = 1000 * 26 * 26 * 10  # EG + 3 digits + 2 letters + 1 digit
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows below the header


@dataclass
class SynthTruth:
    """What the generator planted, counted from its canonical codes (independent of ``clean``)."""

    rows: int
    actual: dict[str, int]
    pending: dict[str, int]
    duplicate_exchanges: int  # copies of an earlier exchange (errors, excluded from the KPIs)
    duplicate_ids: int  # copies that carry their original's exchange number (warnings)
    malformed_ids: int
    blank_ids: int
    entity_spellings: dict[str, int] = field(default_factory=dict)  # text as written -> rows (all rows)

    def kpis(self) -> dict[str, dict[str, int]]:
        """``{"actual": ..., "pending": ...}`` as ``cxc-analysis kpis --json`` prints them."""
        return {"actual": dict(self.actual), "pending": dict(self.pending)}


def synth_tracker(rows: int, seed: int = 0, duplicates: int = 0):
    """A synthetic tracker as a ``pyarrow.Table`` with the D5.1 headers, and its :class:`SynthTruth`.

    Columns are dictionary-encoded text (a tracker repeats its texts); ``.to_pylist()`` gives
    the cells, ``.cast(pa.string())`` plain strings.

    >>> table, truth = synth_tracker(1000, seed=1)
    >>> table.num_rows, truth.actual["exchanges"] + truth.pending["exchanges"]
    (1000, 1000)
    """
    import pyarrow as pa

    from .schema import KPI_NAMES, ENTITY_TYPES

    if rows < 0 or duplicates < 0 or duplicates > rows:
        raise ValueError("need rows >= 0 and 0 <= duplicates <= rows")
    rng = np.random.default_rng(seed)
    unique = rows - duplicates

    # Unique (event, host, VO) combinations, grouped by event and host as trackers are.
    n_events, n_hosts = len(EVENTS) * len(YEARS), len(HOSTS)
    n_vos = max(200, -(-3 * unique // (n_events * n_hosts)))
    combo = np.sort(rng.choice(n_events * n_hosts * n_vos, size=unique, replace=False))
    vo, rest = combo % n_vos, combo // n_vos
    host, event = rest % n_hosts, rest // n_hosts
    vo_names = _vo_pool(rng, n_vos)
    vo_type = rng.choice(len(ENTITY_TYPES), size=n_vos, p=[ENTITY_TYPE_SHARES[t] for t in ENTITY_TYPES])
    entity = vo_type[vo]

    outside = rng.random(unique) < 0.4
    pending = rng.random(unique) < 0.12
    without_tool = ~pending & (rng.random(unique) < 0.3)
    # Exchange numbers: completed with the IT tool mostly have one; pending ones sometimes do.
    has_id = np.where(pending, rng.random(unique) < 0.2, ~without_tool & (rng.random(unique) < 0.92))
    malformed = has_id & (rng.random(unique) < 0.01)

    if has_id.sum() > ID_SPACE:
        raise ValueError(f"at most {ID_SPACE} exchange numbers fit the IT tool's format")
    id_codes = rng.choice(ID_SPACE, size=int(has_id.sum()), replace=False)
    id_text = _exchange_ids(id_codes, rng.integers(0, 3, size=len(id_codes)), malformed[has_id])

    # Texts: each column an index into a small dictionary of spellings.
    type_spellings, type_index = _spell(rng, entity, [ENTITY_TYPE_SPELLINGS[t] for t in ENTITY_TYPES])
    side_spellings, side_index = _spell(rng, outside.astype(np.int64),
                                        [PARTNERSHIP_SPELLINGS["inside"], PARTNERSHIP_SPELLINGS["outside"]])
    status_group = np.where(pending, 2, np.where(without_tool, 1, 0))
    status_spellings, status_index = _spell(rng, status_group, [COMPLETED_WITH_TOOL, COMPLETED_WITHOUT_TOOL,
                                                                PENDING])
    remark = np.full(unique, -1)
    remark[pending & ~has_id & (rng.random(unique) < 0.6)] = 0
    remark[(rng.random(unique) < 0.005)] = 1
    other = rng.random(unique) < 0.03
    remark[other & (remark < 0)] = rng.integers(2, len(REMARKS), size=int((other & (remark < 0)).sum()))
    # A few names typed with doubled or trailing spaces (the table normalises them).
    spaced = rng.random(unique) < 0.01

    event_names = [f"{e} {y}" for y in YEARS for e in EVENTS]
    columns = {
        "Exchange no.": (np.where(has_id, np.cumsum(has_id) - 1, -1), id_text),
        "HO": (host, list(HOSTS)),
        "VO": (vo + n_vos * spaced, vo_names + [_respace(n) for n in vo_names]),
        "VO Type of entity": (type_index, type_spellings),
        "Inside/outside partnership": (side_index, side_spellings),
        "(Group) exchange": (event, event_names),
        "Status": (status_index, status_spellings),
        "Remarks": (remark, list(REMARKS)),
    }

    # Copies of earlier exchanges (the VO's case changed, as a re-typed row would be), a few rows later.
    source = np.sort(rng.choice(unique, size=duplicates, replace=False))
    key = np.concatenate([np.arange(unique, dtype=np.float64), source + rng.integers(1, 50, size=duplicates) + 0.5])
    position = np.argsort(key, kind="stable")
    order, is_copy = np.concatenate([np.arange(unique), source])[position], position >= unique

    arrays = {}
    for name, (index, values) in columns.items():
        take = np.asarray(index)[order]
        dictionary = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        if name == "VO" and duplicates:
            upper = pa.array([v.upper() for v in values], pa.string())
            dictionary = pa.concat_arrays([dictionary, upper])
            take = np.where(is_copy, take + len(values), take)
        arrays[name] = _take(dictionary, take)
    table = pa.table(arrays)

    kept = ~is_copy
    codes = entity[order]
    truth = {}
    for status, mask in (("completed", ~pending[order] & kept), ("pending", pending[order] & kept)):
        by_type = np.bincount(codes[mask], minlength=len(ENTITY_TYPES))
        counts = {"exchanges": int(mask.sum()), "outside_partnership": int((outside[order] & mask).sum())}
        counts.update({t: int(n) for t, n in zip(ENTITY_TYPES, by_type)})
        truth[status] = {k: counts[k] for k in KPI_NAMES}
    spelled = np.bincount(type_index[order], minlength=len(type_spellings))
    return table, SynthTruth(
        rows=len(order), actual=truth["completed"], pending=truth["pending"],
        duplicate_exchanges=int(is_copy.sum()),
        duplicate_ids=int(has_id[source].sum()),
        malformed_ids=int(malformed[order].sum()),
        blank_ids=int((~has_id[order]).sum()),
        entity_spellings={s: int(n) for s, n in zip(type_spellings, spelled) if n})


def write_synth(path: str | Path, rows: int, seed: int = 0, duplicates: int = 0) -> SynthTruth:
    """Write a synthetic tracker to ``path`` (.csv or .xlsx, atomically) and return its truth."""
    from .output import check_writable, write_atomic

    path = check_writable(path)
    if rows < 0 or not 0 <= duplicates <= rows:
        raise InputError("rows must be >= 0 and duplicates between 0 and rows", file=path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"unsupported output type '{suffix}' (use .csv or .xlsx)", file=path)
    if suffix == ".xlsx" and rows > XLSX_MAX_ROWS:
        raise InputError(f"an xlsx sheet holds at most {XLSX_MAX_ROWS} rows below its header; use .csv",
                         file=path)
    try:
        table, truth = synth_tracker(rows, seed=seed, duplicates=duplicates)
    except ValueError as exc:
        raise InputError(str(exc), file=path) from None
    write_atomic(path, (lambda tmp: _write_csv(table, tmp)) if suffix == ".csv"
                 else (lambda tmp: _write_xlsx(table, tmp)))
    return truth


# --- helpers ------------------------------------------------------------------------------

def _vo_pool(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct visiting-organisation names (distinct whatever their case)."""
    names = [" ".join(p for p in (prefix, core, form) if p)
             for prefix in VO_PREFIXES for core in VO_CORES for form in VO_FORMS]
    picked = [names[i] for i in rng.permutation(len(names))]
    out = picked[:n]
    extra = 2
    while len(out) < n:
        out.extend(f"{name} {extra}" for name in picked[:n - len(out)])
        extra += 1
    return out


def _respace(name: str) -> str:
    return name.replace(" ", "  ", 1) + " " if " " in name else name + " "


def _spell(rng: np.random.Generator, codes: np.ndarray, spellings: list[tuple[str, ...]]):
    """One spelling per row, chosen at random among its code's spellings: (dictionary, indices)."""
    sizes = np.array([len(s) for s in spellings])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    index = offsets[codes] + (rng.random(len(codes)) * sizes[codes]).astype(np.int64)
    return [s for group in spellings for s in group], index


def _exchange_ids(codes: np.ndarray, kind: np.ndarray, malformed: np.ndarray):
    """IT-tool IDs (EG927FA8) for distinct ``codes``; the malformed ones written in one of three
    wrong ways (lower case, a space after EG, no EG), each still distinct."""
    import pyarrow as pa

    chars = np.empty((len(codes), 9), dtype=np.uint8)
    chars[:, 0], chars[:, 1], chars[:, 2] = ord("E"), ord("G"), 0
    number, letters, last = codes // 6760, (codes // 10) % 676, codes % 10
    digits = np.stack([number // 100, number // 10 % 10, number % 10], axis=1) + ord("0")
    tail = np.stack([letters // 26 + ord("A"), letters % 26 + ord("A"), last + ord("0")], axis=1)
    chars[:, 2:5], chars[:, 5:8], chars[:, 8] = digits, tail, 0
    lower = malformed & (kind == 0)
    chars[lower, 0:2] += 32
    chars[lower, 5:7] += 32
    spaced = malformed & (kind == 1)
    chars[spaced] = np.concatenate([chars[spaced, :2], np.full((int(spaced.sum()), 1), ord(" "), np.uint8),
                                    chars[spaced, 2:8]], axis=1)
    bare = malformed & (kind == 2)
    chars[bare] = np.concatenate([chars[bare, 2:8], np.zeros((int(bare.sum()), 3), np.uint8)], axis=1)
    return pa.array(np.ascontiguousarray(chars).view("S9").ravel()).cast(pa.string())


def _take(dictionary, index: np.ndarray):
    """``dictionary[index]`` as a dictionary-encoded array, null where ``index`` is negative."""
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32), mask=index < 0), dictionary)


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


def _csv_column(column):
    """A text column as CSV fields: quoted (quotes doubled) only where a value needs it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):  # escape each distinct text once
        return _csv_column(column.dictionary).take(column.indices)
    needs = pc.fill_null(pc.match_substring_regex(column, '[,"\r\n]'), False)
    if not pc.any(needs).as_py():
        return column
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, column)


def _write_csv(table, path: Path) -> None:
    """UTF-8 CSV quoted only where a value needs it, as a spreadsheet exports it."""
    import pyarrow.compute as pc

    header = ",".join(_csv_field(name) for name in table.column_names) + "\n"
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        columns = [_csv_column(table.column(name).combine_chunks()) for name in table.column_names]
        step = 1 << 18
        for start in range(0, table.num_rows, step):
            parts = [c.slice(start, step) for c in columns]
            lines = pc.binary_join_element_wise(*parts, ",", null_handling="replace", null_replacement="")
            lines = pc.binary_join_element_wise(lines, "", "\n")
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
            handle.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])


def _write_xlsx(table, path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Exchanges")
    sheet.append(list(table.column_names))
    for row in zip(*(table.column(name).to_pylist() for name in table.column_names)):
        sheet.append(row)
    workbook.save(path)
