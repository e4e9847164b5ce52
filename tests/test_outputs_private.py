"""Outputs hold no absolute local path, and a failed write leaves the previous output as it was."""

import json
import os
from pathlib import Path

import pytest
from conftest import HEADERS, exchange, write_xlsx

from cxc_analysis.core.errors import InputError


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_clean_that_fails_while_putting_files_in_place_leaves_the_old_output_as_it_was(tmp_path, monkeypatch):
    import cxc_analysis.core.output as output
    from cxc_analysis.report.processed import clean_to_processed

    folder = tmp_path / "processed"
    clean_to_processed(write_xlsx(tmp_path / "old.xlsx", [HEADERS, exchange("A"), exchange("B")]), None, folder)
    before = snapshot(folder)
    assert json.loads(before["source.json"])["file"] == "old.xlsx"
    replace, failed = os.replace, []

    def failing(source, target):  # the new findings.csv cannot be put in place (a full disk, a lock)
        if Path(target) == folder / "findings.csv" and not failed:
            failed.append(source)
            raise OSError(28, "No space left on device")
        return replace(source, target)

    monkeypatch.setattr(output.os, "replace", failing)
    with pytest.raises(OSError):
        clean_to_processed(write_xlsx(tmp_path / "new.xlsx", [HEADERS, exchange("C")]), None, folder)
    assert failed and snapshot(folder) == before  # source.json too: it still names the tracker beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.xlsx", "old.xlsx", "processed"]  # nothing left over


def test_a_clean_of_an_unusable_tracker_leaves_the_old_output_as_it_was(tmp_path):
    from cxc_analysis.report.processed import clean_to_processed

    folder = tmp_path / "processed"
    clean_to_processed(write_xlsx(tmp_path / "old.xlsx", [HEADERS, exchange("A")]), None, folder)
    before = snapshot(folder)
    with pytest.raises(InputError):
        clean_to_processed(write_xlsx(tmp_path / "bad.xlsx", [["Name", "Notes"], ["x", "y"]]), None, folder)
    assert snapshot(folder) == before


def test_the_processed_tables_name_their_tracker_by_file_name_only(tmp_path):
    import pyarrow.parquet as pq

    from cxc_analysis.report.processed import clean_to_processed

    (tmp_path / "private" / "ana").mkdir(parents=True)
    tracker = write_xlsx(tmp_path / "private" / "ana" / "t.xlsx", [HEADERS, exchange("A")])
    folder = tmp_path / "processed"
    clean_to_processed(tracker, None, folder)
    for name in ("exchanges.parquet", "findings.parquet", "source.json", "exchanges.csv", "findings.csv"):
        data = (folder / name).read_bytes()
        assert str(tmp_path).encode() not in data, name
    attrs = json.loads(pq.read_schema(folder / "exchanges.parquet").metadata[b"PANDAS_ATTRS"])
    assert attrs["file"] == "t.xlsx"


def test_messages_and_parameters_show_paths_relative_or_by_name(tmp_path):
    from cxc_analysis.core.config import PROJECT_ROOT
    from cxc_analysis.report.runner import shown_path, without_local_paths

    outside = tmp_path / "Ana Lopez" / "tracker.xlsx"  # a folder name with a space and a person's name
    assert shown_path(outside) == "tracker.xlsx"
    assert shown_path(PROJECT_ROOT / "data" / "raw" / "register.csv") == "data/raw/register.csv"
    assert shown_path(tmp_path / "run" / "data", run=tmp_path / "run") == "data"
    message = f"{outside}: sheet 'S': row 3: bad; see {tmp_path / 'run' / 'data'}/findings.csv"
    shown = without_local_paths(message, [outside], run=tmp_path / "run")
    assert shown == "tracker.xlsx: sheet 'S': row 3: bad; see ./data/findings.csv"
    assert without_local_paths(f"{Path.home()}/notes/x.yaml: bad") == "~/notes/x.yaml: bad"
    # a folder whose name only starts like another's is not cut
    assert without_local_paths(f"{tmp_path}2/x.csv", [tmp_path]) == f"{tmp_path}2/x.csv"


def _every_byte(folder: Path):
    """Each output file's bytes, with the members of a zip (xlsx) and the streams of a PDF opened."""
    import re
    import zipfile
    import zlib

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        yield path.name, data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    yield f"{path.name}:{member}", archive.read(member)
        if path.suffix == ".pdf":
            for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
                try:
                    yield f"{path.name}:stream", zlib.decompress(stream.group(1))
                except zlib.error:
                    pass


@pytest.mark.e2e
def test_a_report_holds_no_absolute_local_path_in_any_file(tmp_path):
    from conftest import run_cli

    from cxc_analysis.core.config import PROJECT_ROOT

    (tmp_path / "Ana Lopez").mkdir()
    tracker = write_xlsx(tmp_path / "Ana Lopez" / "tracker.xlsx",
                         [HEADERS, exchange("A"), exchange("B", side="Outside"), exchange("C")])
    result = run_cli("report", "--input", str(tracker), "--partnership", "X", "--period", "M6",
                     "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    provenance = json.loads((tmp_path / "run" / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["files"]["input"]["file"] == provenance["parameters"]["input_path"] == "tracker.xlsx"
    assert provenance["files"]["register"]["file"] == "data/raw/register.csv"
    seen = list(_every_byte(tmp_path / "run"))
    assert any(b'"input_file": "tracker.xlsx"' in data for name, data in seen if name.endswith(":stream"))  # attached
    for name, data in seen:
        for local in (str(tmp_path), str(PROJECT_ROOT)):
            assert local.encode() not in data, (name, local)


@pytest.mark.e2e
def test_a_batch_index_holds_no_absolute_local_path(tmp_path):
    from conftest import run_cli

    (tmp_path / "trackers").mkdir()
    write_xlsx(tmp_path / "trackers" / "nohead.xlsx", [["Name", "Notes"], ["x", "y"]])
    (tmp_path / "runs.yaml").write_text("out: batch\nruns:\n"
                                        "  - {name: one, input: trackers/nohead.xlsx, partnership: ONE, period: M6}\n")
    proc = run_cli("report", "--batch", str(tmp_path / "runs.yaml"), "--jobs", "1")
    assert proc.returncode == 1, proc.stderr
    index = (tmp_path / "batch" / "index.html").read_text(encoding="utf-8")
    assert "FAILED" in index and "nohead.xlsx: no sheet holds an exchange table" in index
    assert str(tmp_path) not in index
