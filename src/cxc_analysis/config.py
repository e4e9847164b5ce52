"""Paths and defaults, in one place.

Every other module and every notebook finds files through here, never through the
current directory or a notebook's own location. ``CXC_ROOT`` overrides the project root.
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("CXC_ROOT", PACKAGE_DIR.parents[1])).resolve()

DATA_RAW = PROJECT_ROOT / "data" / "raw"
DATA_PROCESSED = PROJECT_ROOT / "data" / "processed"
REPORTS = PROJECT_ROOT / "reports"
NOTEBOOKS = PROJECT_ROOT / "notebooks"
TEMPLATES = PACKAGE_DIR / "templates"

DEFAULT_INPUT = DATA_RAW / "remobilise_d51_exchanges.xlsx"
DEFAULT_TARGETS = DATA_RAW / "remobilise_targets.yaml"
DEFAULT_DELIVERABLE = DATA_RAW / "remobilise_deliverable.yaml"
DEFAULT_REGISTER = DATA_RAW / "register.csv"
DEFAULT_PARTNERSHIP = "REMOBILISE"
DEFAULT_PERIOD = "M12 (January 2023)"

HEADER_SCAN_ROWS = 30  # title rows a tracker may have above its header row
MAX_CELL_CHARS = 32_767  # characters a cell may hold, in a tracker (CSV or workbook) and a register: Excel's own limit
MAX_SHEET_CELLS = 4_000_000  # rows x columns to a sheet's last filled cell (200,000 rows of 20): read in < 1 GB
MAX_SHEET_TEXT = 200_000_000  # bytes of text a sheet's cells may hold once shared strings are repeated into them
