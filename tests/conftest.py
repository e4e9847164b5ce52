import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from cxc_analysis.core.config import DATA_RAW, DEFAULT_INPUT

HEADERS = ["Exchange no.", "HO", "VO", "VO Type of entity", "Inside/outside partnership",
           "(Group) exchange", "Status", "Remarks"]


def raw_digest() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DATA_RAW.iterdir()) if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def raw_data_unchanged():
    """Every test session ends with data/raw/ exactly as it began."""
    before = raw_digest()
    yield
    assert raw_digest() == before, "data/raw/ was changed by a test run"


@pytest.fixture(scope="session")
def bundled():
    from cxc_analysis.read.tracker import read_tracker
    from cxc_analysis.table.clean import clean

    return clean(read_tracker(DEFAULT_INPUT))


def write_xlsx(path: Path, rows: list[list], sheet: str = "Exchanges", extra_sheets: tuple[str, ...] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a name that looks like a formula, stored as text as a user typed it
    for name in extra_sheets:
        wb.create_sheet(name, 0).append(["notes"])
    wb.save(path)
    return path


def pdf_text(path) -> str:
    """The text of every page of a PDF (pypdf), for tests that read a report back."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cxc_analysis", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def exchange(vo="Axxor", ho="NextMove", kind="SME", side="Inside", event="Equip Auto", status="Completed",
             eid=None, remarks=None):
    return [eid, ho, vo, kind, side, event, status, remarks]


# --- small tables for the rules (tests/rules, tests/core/test_names.py) ---------------------------

def table(*rows: dict) -> pd.DataFrame:
    """A small canonical-like table: one dict per exchange, Excel rows from 2."""
    base = {"host_org": "Host", "vo_entity_type": "sme", "ho_country": "FR", "vo_country": "NL",
            "ho_city": None, "vo_city": None, "start_date": pd.NaT, "end_date": pd.NaT, "amount_eur": None,
            "excluded": False}
    frame = pd.DataFrame([{**base, "visiting_org": f"Visitor {i}", **row} for i, row in enumerate(rows)])
    frame.insert(0, "source_row", range(2, 2 + len(frame)))
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["end_date"] = pd.to_datetime(frame["end_date"])
    frame["amount_eur"] = pd.array(frame["amount_eur"], dtype="Float64")
    return frame



def rule(results: pd.DataFrame, code: str) -> pd.DataFrame:
    return results[results["rule"] == code].reset_index(drop=True)



def outcomes(results: pd.DataFrame, code: str) -> list[str]:
    return rule(results, code)["outcome"].astype(str).tolist()



REGISTER = pd.DataFrame({
    "name": ["Inalfa", "Tiny Tools", "Big Maker", "Cato Composites"],
    "aliases": ["Inalfa Roof Systems", None, None, None],
    "country": ["NL", "DE", "BE", None],
    "city": ["Venray", "Regensburg", "Gent", None],
    "entity_type": ["large_company", "sme", "sme", "sme"],
    "headcount": pd.array([None, 5, 300, None], dtype="Int64"),
    "turnover_eur": pd.array([None, 1e6, None, None], dtype="Float64"),
    "balance_sheet_eur": pd.array([None, None, None, None], dtype="Float64"),
    "register_row": [2, 3, 4, 5],
})
