"""Paths and defaults, in one place.

Every other module and every notebook finds files through here, never through the
current directory or a notebook's own location. Two situations:

- **Inside a clone** (the package imported from the repository's ``src/``, as ``make setup``'s
  editable install does; or ``CXC_ROOT`` naming such a project folder): the reference data and
  notebooks are the project's ``data/raw/`` and ``notebooks/``; outputs go to its
  ``data/processed/`` and ``reports/``.
- **Installed** (``pip install cxc-analysis``, a wheel): the same files ship inside the package
  (copied there from ``data/raw/`` and ``notebooks/`` when the wheel is built, see setup.py) and
  are found with ``importlib.resources``; outputs go to the current working directory
  (``./processed/``, ``./reports/``), never into site-packages.

Other modules ask for a shipped file with ``resource(name)``.
"""

import atexit
import contextlib
import os
from importlib import resources
from pathlib import Path

PACKAGE = "cxc_analysis"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
BUNDLE = "_bundled"  # folder in the installed package holding data/raw/ and notebooks/ (see setup.py)
BUNDLED_FOLDERS = ("data/raw", "notebooks")  # what the wheel carries from the repository, one copy in git

_extracted = contextlib.ExitStack()  # resources extracted from a zipped install, removed at exit
atexit.register(_extracted.close)


def find_clone(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The repository the package is imported from (``<root>/src/cxc_analysis`` beside
    ``<root>/data/raw``), or None for an installed package.

    >>> find_clone(Path("/usr/lib/python3/site-packages/cxc_analysis")) is None
    True
    """
    root = package_dir.parent.parent
    if package_dir.parent.name == "src" and (root / "pyproject.toml").is_file() and (root / "data" / "raw").is_dir():
        return root
    return None


def _as_path(resource) -> Path:
    """A package resource as a file-system path (extracted for the process's life if zipped)."""
    if isinstance(resource, Path):
        return resource
    return Path(_extracted.enter_context(resources.as_file(resource)))


def _working_folder() -> Path:
    try:
        return Path.cwd()
    except OSError:  # the folder we were started in was deleted: outputs need an explicit --out
        return Path(os.devnull)


CLONE = Path(os.environ["CXC_ROOT"]).resolve() if os.environ.get("CXC_ROOT") else find_clone()
IN_CLONE = CLONE is not None
RESOURCES = CLONE if IN_CLONE else _as_path(resources.files(PACKAGE) / BUNDLE)  # holds data/raw/, notebooks/
PROJECT_ROOT = CLONE if IN_CLONE else _working_folder()  # outputs go here; notebooks run here

DATA_RAW = RESOURCES / "data" / "raw"
NOTEBOOKS = RESOURCES / "notebooks"
DATA_PROCESSED = PROJECT_ROOT / "data" / "processed" if IN_CLONE else PROJECT_ROOT / "processed"
REPORTS = PROJECT_ROOT / "reports"
TEMPLATES = _as_path(resources.files(PACKAGE) / "templates")


def resource(name: str) -> Path:
    """A file the tool ships with: ``name`` under data/raw/ (e.g. ``"register.csv"`` or
    ``"rulesets/cosme.yaml"``), else inside the package itself (e.g. ``"vocabulary.yaml"``).
    Inside a clone it is the repository's own file; installed, the package's copy. A name found
    in neither gives the data/raw/ path, so reading it reports a missing file by name.

    >>> resource("remobilise_targets.yaml") == DATA_RAW / "remobilise_targets.yaml"
    True
    """
    path = DATA_RAW / name
    if path.exists():
        return path
    packaged = _as_path(resources.files(PACKAGE).joinpath(name))
    return packaged if packaged.exists() else path


def notebook_files() -> list[Path]:
    """The notebooks the tool ships (the ones ``report`` runs and the exploration notebook), in order.

    >>> [p.name for p in notebook_files()][:2]
    ['01_clean_and_validate.ipynb', '02_kpi_report.ipynb']
    """
    return sorted(NOTEBOOKS.glob("*.ipynb"))


DEFAULT_INPUT = resource("remobilise_d51_exchanges.xlsx")
DEFAULT_TARGETS = resource("remobilise_targets.yaml")
DEFAULT_DELIVERABLE = resource("remobilise_deliverable.yaml")
DEFAULT_REGISTER = resource("register.csv")
DEFAULT_PARTNERSHIP = "REMOBILISE"
DEFAULT_PERIOD = "M12 (January 2023)"

HEADER_SCAN_ROWS = 30  # title rows a tracker may have above its header row
MAX_CELL_CHARS = 32_767  # characters a cell may hold, in a tracker (CSV or workbook) and a register: Excel's own limit
MAX_SHEET_CELLS = 4_000_000  # rows x columns to a sheet's last filled cell (200,000 rows of 20): read in < 1 GB
MAX_SHEET_TEXT = 200_000_000  # bytes of text a sheet's cells may hold once shared strings are repeated into them
