"""Outputs hold no absolute local path, and a failed write leaves the previous output as it was."""

import json
import os
from pathlib import Path

import pytest

from cxc_analysis.errors import InputError

from conftest import HEADERS, exchange, write_xlsx


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_clean_that_fails_while_putting_files_in_place_leaves_the_old_output_as_it_was(tmp_path, monkeypatch):
    import cxc_analysis.output as output
    from cxc_analysis.processed import clean_to_processed

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
    from cxc_analysis.processed import clean_to_processed

    folder = tmp_path / "processed"
    clean_to_processed(write_xlsx(tmp_path / "old.xlsx", [HEADERS, exchange("A")]), None, folder)
    before = snapshot(folder)
    with pytest.raises(InputError):
        clean_to_processed(write_xlsx(tmp_path / "bad.xlsx", [["Name", "Notes"], ["x", "y"]]), None, folder)
    assert snapshot(folder) == before


def test_the_processed_tables_name_their_tracker_by_file_name_only(tmp_path):
    import pyarrow.parquet as pq

    from cxc_analysis.processed import clean_to_processed

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
    from cxc_analysis.config import PROJECT_ROOT
    from cxc_analysis.report import shown_path, without_local_paths

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
