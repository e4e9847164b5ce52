"""Batch runs: three partnerships in parallel, one of them broken."""

import re

import pytest
from conftest import run_cli

pytestmark = pytest.mark.e2e  # parallel report runs in subprocesses


def test_batch_of_three_with_one_broken(tmp_path):
    (tmp_path / "small.csv").write_text("HO;VO;VO Type of entity;Partnership;Status\n"
                                        "Host;V1;SME;inside;Completed\nHost;V2;SME;outside;Completed\n"
                                        "Host;V3;cluster;outside;Pending\n", encoding="utf-8")
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    (tmp_path / "small.yaml").write_text("partnership: SMALLNET\ntargets: {exchanges: 10, sme: 4}\n")
    (tmp_path / "runs.yaml").write_text(
        "out: batch\n"
        "runs:\n"
        "  - {name: small, input: small.csv, targets: small.yaml, partnership: SMALLNET, period: M6}\n"
        "  - {name: broken, input: broken.xlsx, partnership: BROKEN, period: M6}\n"
        "  - {name: tiny, input: small.csv, partnership: TINY <b>, period: M7}\n", encoding="utf-8")
    proc = run_cli("report", "--batch", str(tmp_path / "runs.yaml"), "--jobs", "2")
    assert proc.returncode == 1, proc.stderr
    assert "2 of 3 runs completed; failed: broken" in proc.stderr
    batch = tmp_path / "batch"
    assert (batch / "small" / "report.pdf").exists() and (batch / "tiny" / "report.html").exists()
    assert not (batch / "broken").exists()
    index = (batch / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr.*?</tr>", index, re.S)[1:]
    assert len(rows) == 3
    assert 'href="small/report.html"' in rows[0] and ">2 / 10<" in rows[0]  # 2 completed against 10
    assert "FAILED" in rows[1] and "broken.xlsx: cannot read workbook" in rows[1]
    assert "TINY &lt;b&gt;" in rows[2] and "TINY <b>" not in index
    assert ">2<" in rows[2] and " / " not in rows[2]  # no targets, as in TINY's report: not REMOBILISE's 2 / 80
    assert "KeyboardInterrupt" not in proc.stderr and "[IPKernelApp]" not in proc.stderr


def test_batch_run_without_partnership_is_refused(tmp_path):
    (tmp_path / "runs.yaml").write_text("runs:\n  - {name: a, input: x.csv}\n")
    proc = run_cli("report", "--batch", str(tmp_path / "runs.yaml"))
    assert proc.returncode == 2 and "run 1: 'partnership' is missing" in proc.stderr


def test_batch_run_file_errors_exit_2(tmp_path):
    (tmp_path / "runs.yaml").write_text("runs:\n  - {name: a, colour: blue}\n")
    proc = run_cli("report", "--batch", str(tmp_path / "runs.yaml"))
    assert proc.returncode == 2 and "run 1: unknown setting 'colour'" in proc.stderr and "runs.yaml" in proc.stderr
