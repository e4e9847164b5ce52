"""output.write_csv writes, through Arrow, the very bytes pandas' to_csv wrote before it."""

import numpy as np
import pandas as pd
import pandas.io.formats.csvs as pandas_csvs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxc_analysis.core import output
from cxc_analysis.core.output import csv_writer, neutralise_formulas, write_csv
from cxc_analysis.core.text import FORMULA_PREFIXES


def old_neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """neutralise_formulas before the Arrow writer (it failed on a categorical with a risky cell)."""
    out = {}
    for name, values in df.items():
        if pd.api.types.is_string_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
            text = values.astype("str") if isinstance(values.dtype, pd.CategoricalDtype) else values
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
            out[name] = values.where(~risky, "'" + text) if risky.any() else values
        else:
            out[name] = values
    return pd.DataFrame(out, index=df.index)


def pandas_bytes(df: pd.DataFrame, path) -> bytes:
    """What write_csv wrote before the Arrow writer: pandas' to_csv of the neutralised frame."""
    neutralise_formulas(df).to_csv(path, index=False, encoding="utf-8-sig")
    return path.read_bytes()


# --- frames of every kind of column the processed tables hold, and a few they do not --------

ODD = ',"\n\r\t =+-@\'é€😀\x00\u2028'
texts = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list(ODD) + list("abcAB01.")), max_size=8),
                  st.sampled_from(["=SUM(A1)", "+1", "-2+3", "@x", "\tx", "\rx", "", "a,b", 'say "hi"', "x\ny"]))
FLOATS = [550.0, 1100.0, 1100.5, 0.0, -0.0, 1e16, 1e15, 1e15 + 0.2, 9999999999999998.0, 1e-4, 9.99e-5, 1e-5,
          1e22, 1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2, -123.25, 123456789012.75, float("inf"),
          float("-inf"), 2.0**53, 3e-4, 12345678901234567890.0]
floats = st.one_of(st.sampled_from(FLOATS), st.floats(), st.integers(-10**6, 10**6).map(float),
                   st.floats(min_value=-1e20, max_value=1e20))
NS_RANGE = (pd.Timestamp.min.value + 1, pd.Timestamp.max.value)
SECONDS = (-30610224000, 253402300799)  # 1000-01-01 to 9999-12-31 23:59:59
instants = st.one_of(st.none(),
                     st.integers(*NS_RANGE),                                       # any nanosecond
                     st.integers(-10**5, 10**5).map(lambda day: day * 86_400 * 10**9),  # midnights
                     st.integers(-10**9, 10**9).map(lambda second: second * 10**9),    # whole seconds
                     st.integers(-10**12, 10**12).map(lambda milli: milli * 10**6),
                     st.integers(-10**15, 10**15).map(lambda micro: micro * 10**3))


def datetimes(ticks: list, unit: str = "ns") -> pd.Series:
    return pd.Series(np.array([np.iinfo(np.int64).min if tick is None else tick for tick in ticks],
                              dtype=np.int64).view(f"datetime64[{unit}]"))


def column(kind: str, draw, rows: int) -> pd.Series:
    """A column of ``rows`` random cells of one kind."""
    cells = lambda strategy: draw(st.lists(strategy, min_size=rows, max_size=rows))  # noqa: E731
    if kind == "int64":
        return pd.Series(cells(st.integers(-2**63, 2**63 - 1)), dtype="int64")
    if kind == "Int64":
        return pd.Series(cells(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1))), dtype="Int64")
    if kind == "bool":
        return pd.Series(cells(st.booleans()), dtype=bool)
    if kind == "boolean":
        return pd.Series(cells(st.one_of(st.none(), st.booleans())), dtype="boolean")
    if kind == "float64":
        return pd.Series(cells(st.one_of(st.none(), floats)), dtype="float64")
    if kind == "Float64":
        return pd.Series(cells(st.one_of(st.none(), floats)), dtype="Float64")
    if kind == "Float64 holding NaN":  # a NaN that is a value, not missing
        numbers = np.array(cells(st.one_of(st.just(np.nan), floats)), dtype=np.float64)
        return pd.Series(pd.arrays.FloatingArray(numbers, np.zeros(rows, dtype=bool)))
    if kind == "datetime64[ns]":
        return datetimes(cells(instants))
    if kind in ("datetime64[s]", "datetime64[ms]", "datetime64[us]"):
        unit = kind[11:-1]
        per_second = {"s": 1, "ms": 10**3, "us": 10**6}[unit]
        ticks = st.one_of(st.none(), st.integers(SECONDS[0] * per_second, SECONDS[1] * per_second),
                          st.integers(SECONDS[0] // 86400, SECONDS[1] // 86400).map(
                              lambda day: day * 86400 * per_second))
        return datetimes(cells(ticks), unit)
    if kind == "datetime64[s] any year":
        return datetimes(cells(st.one_of(st.none(), st.integers(-10**12, 10**12))), "s")
    if kind in ("str", "string", "object"):
        return pd.Series(cells(texts), dtype=kind)
    if kind == "string[python]":
        return pd.Series(cells(texts), dtype=pd.StringDtype("python"))
    if kind == "Int8":
        return pd.Series(cells(st.one_of(st.none(), st.integers(-128, 127))), dtype="Int8")
    if kind == "uint64":
        return pd.Series(cells(st.integers(0, 2**64 - 1)), dtype="uint64")
    if kind == "str in chunks":  # as read from Parquet: Arrow-backed, in several chunks
        parts = draw(st.lists(st.integers(0, rows), max_size=3))
        values = pd.Series(cells(texts), dtype="str")
        return pd.concat([values.iloc[start:stop] for start, stop in zip([0, *sorted(parts)], [*sorted(parts), rows])],
                         ignore_index=True)
    if kind == "category":
        return pd.Series(cells(texts), dtype="category")
    if kind == "category with clashing prefix":
        return pd.Series(cells(st.sampled_from(["=a", "'=a", "b", None])), dtype="category")
    if kind == "category of numbers":
        return pd.Series(cells(st.one_of(st.none(), st.integers(-3, 3))), dtype="category")
    if kind == "datetime64[ns, UTC]":
        return datetimes(cells(instants)).dt.tz_localize("UTC")
    if kind == "timedelta64[ns]":
        return pd.Series(pd.to_timedelta(cells(st.integers(-10**15, 10**15)), unit="ns"))
    if kind == "object mixed":
        return pd.Series(cells(st.one_of(texts, st.integers(), floats)), dtype=object)
    raise ValueError(kind)


WRITTEN_BY_ARROW = ["int64", "Int64", "Int8", "uint64", "string[python]", "bool", "boolean", "float64", "Float64", "Float64 holding NaN",
                    "datetime64[ns]", "datetime64[s]", "datetime64[ms]", "datetime64[us]", "str", "str in chunks", "string",
                    "object", "category", "category with clashing prefix"]
WRITTEN_BY_PANDAS = ["datetime64[s] any year", "category of numbers", "datetime64[ns, UTC]", "timedelta64[ns]",
                     "object mixed"]


@st.composite
def frames(draw, kinds: list[str]):
    rows = draw(st.integers(0, 30))
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=2, max_size=7))
    labels = draw(st.lists(st.one_of(st.sampled_from(["id", "a,b", 'q"uote', "é", "=x", ""]),
                                     st.text(max_size=4)), min_size=len(chosen), max_size=len(chosen)))
    frame = pd.DataFrame({position: column(kind, draw, rows) for position, kind in enumerate(chosen)})
    if draw(st.booleans()):  # as after a filter: the index (never written) is not 0, 1, 2...
        frame.index = frame.index[::-1] * 3
    return frame.set_axis(labels, axis=1), chosen


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few rows in pandas and here, and blocks of a few rows here: random frames of
    30 rows then cross both kinds of boundary (pandas decides a datetime's format per chunk)."""
    monkeypatch.setattr(pandas_csvs, "_DEFAULT_CHUNKSIZE_CELLS", 17)
    monkeypatch.setattr(output, "CSV_BLOCK_CELLS", 23)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(frames(WRITTEN_BY_ARROW))
def test_arrow_writes_the_bytes_pandas_wrote(tmp_path, small_chunks, frame_kinds):
    frame, kinds = frame_kinds
    before = frame.copy()
    assert csv_writer(neutralise_formulas(frame)) is not None, kinds  # the Arrow path, not pandas again
    assert write_csv(frame, tmp_path / "new.csv").read_bytes() == pandas_bytes(frame, tmp_path / "old.csv")
    pd.testing.assert_frame_equal(frame, before)  # input frame untouched


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(frames(WRITTEN_BY_ARROW + WRITTEN_BY_PANDAS))
def test_any_frame_is_written_as_pandas_wrote_it(tmp_path, frame_kinds):
    frame, kinds = frame_kinds
    assert write_csv(frame, tmp_path / "new.csv").read_bytes() == pandas_bytes(frame, tmp_path / "old.csv")


@pytest.mark.parametrize("values", [datetimes([0, -10**12], "s"), pd.Series(pd.Categorical([1, -1])),
                                    datetimes([0, None]).dt.tz_localize("UTC"), pd.Series(pd.to_timedelta([1, 2])),
                                    pd.Series([1, "a"], dtype=object), pd.Series([1.5, 2.5], dtype="float32"), pd.Series([1.5, None], dtype="Float32"),
                                    pd.Series(pd.arrays.SparseArray([True, False])),
                                    pd.Series([1, None], dtype="int64[pyarrow]")],
                         ids=["year 30,000 BC", "category of numbers", "tz-aware", "timedelta", "mixed", "float32",
                              "Float32", "sparse", "Arrow dtype"])
def test_columns_it_cannot_match_leave_the_frame_to_pandas(values, tmp_path):
    frame = pd.DataFrame({"id": [1, 2], "x": values})
    assert csv_writer(neutralise_formulas(frame)) is None
    assert write_csv(frame, tmp_path / "new.csv").read_bytes() == pandas_bytes(frame, tmp_path / "old.csv")


@settings(max_examples=200, deadline=None)
@given(frames([kind for kind in WRITTEN_BY_ARROW if "clashing" not in kind]))
def test_neutralising_is_what_it_was_where_it_worked(frame_kinds):
    """The old neutraliser failed on a categorical with a formula-like cell and kept one of two
    columns of the same name; elsewhere the new one gives the same frame, cell for cell."""
    frame, _ = frame_kinds
    if not frame.columns.is_unique:
        assert neutralise_formulas(frame).shape == frame.shape
        return
    risky_categorical = any(isinstance(values.dtype, pd.CategoricalDtype)
                            and values.astype("str").str.startswith(FORMULA_PREFIXES)[values.notna()].any()
                            for _, values in frame.items())
    if risky_categorical:
        with pytest.raises(TypeError):
            old_neutralise_formulas(frame)
        return
    pd.testing.assert_frame_equal(neutralise_formulas(frame), old_neutralise_formulas(frame))


def test_a_risky_category_is_prefixed_and_keeps_its_codes():
    frame = pd.DataFrame({"status": pd.Categorical(["=1+2", "ok", None, "=1+2"]), "id": [1, 2, 3, 4]})
    safe = neutralise_formulas(frame)["status"]
    assert safe.astype("str").tolist()[:2] == ["'=1+2", "ok"] and safe.isna().tolist() == [False, False, True, False]
    assert safe.cat.codes.tolist() == frame["status"].cat.codes.tolist()
    clash = neutralise_formulas(pd.DataFrame({"s": pd.Categorical(["=a", "'=a"]), "id": [1, 2]}))["s"]
    assert clash.tolist() == ["'=a", "'=a"]


def test_datetimes_are_formatted_per_pandas_chunk_at_full_size(tmp_path):
    """Two columns: pandas formats 50,000 rows at a time; midnights only in the first chunk,
    a time in the second and a millisecond in the third."""
    rows = 120_001
    days = pd.Series(pd.date_range("1700-01-01", periods=rows, freq="D", unit="s").as_unit("ns"))
    days.iloc[60_000] += pd.Timedelta(seconds=1)
    days.iloc[110_000] += pd.Timedelta(milliseconds=5)
    days.iloc[7] = pd.NaT
    frame = pd.DataFrame({"day": days, "n": range(rows)})
    written = write_csv(frame, tmp_path / "new.csv").read_bytes()
    assert written == pandas_bytes(frame, tmp_path / "old.csv")
    lines = written.decode("utf-8-sig").splitlines()
    assert lines[1] == "1700-01-01,0" and lines[8] == ",7"
    assert lines[50_001].endswith(" 00:00:00,50000") and lines[100_001].endswith(" 00:00:00.000,100000")


def test_the_processed_table_is_written_by_arrow(bundled, tmp_path):
    """The cleaned bundled tracker's tables take the Arrow path and give pandas' bytes."""
    for frame in (bundled.table, bundled.findings):
        assert csv_writer(neutralise_formulas(frame)) is not None
        assert write_csv(frame, tmp_path / "new.csv").read_bytes() == pandas_bytes(frame, tmp_path / "old.csv")
