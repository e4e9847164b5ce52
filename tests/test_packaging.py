"""Installable like any Python tool (issue 14).

Fast tests check config's two situations (inside a clone, installed) and the ``notebooks``
command. The tests marked ``packaging`` build the sdist and the wheel with ``python -m build``
from a copy of the repository, ``twine check`` them, install the wheel in a fresh virtual
environment (no system site-packages, dependencies from pip's cache or PyPI) and run the
commands from an empty folder, checking that nothing is written outside it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from cxc_analysis import __version__
from cxc_analysis.cli.main import main
from cxc_analysis.core import config
from cxc_analysis.core.config import DATA_RAW, NOTEBOOKS, PROJECT_ROOT
from cxc_analysis.report.settings import RUN_NOTEBOOKS

GOLDEN_ACTUAL = {"exchanges": 42, "outside_partnership": 19, "cluster_organisation": 13, "sme": 18,
                 "scaling_up_support_organisation": 2, "large_company": 5, "public_authority": 4}
GOLDEN_TARGET = {"exchanges": 80, "outside_partnership": 20, "cluster_organisation": 5, "sme": 40,
                 "scaling_up_support_organisation": 10, "large_company": 15, "public_authority": 10}
IGNORED = {".git", ".venv", "build", "dist", "reports", "processed", "__pycache__", ".pytest_cache", ".hypothesis",
           ".ipynb_checkpoints"}


def repository_bundle() -> dict[str, bytes]:
    """What the wheel must carry from the repository: every file of data/raw/ and the notebooks."""
    files = [p for p in DATA_RAW.rglob("*") if p.is_file()] + sorted(NOTEBOOKS.glob("*.ipynb"))
    return {p.relative_to(PROJECT_ROOT).as_posix(): p.read_bytes() for p in files
            if not any(part.startswith(".") for part in p.relative_to(PROJECT_ROOT).parts)}


def snapshot(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``root`` (folders named in ``skip`` left out)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder, name)
            stat = path.lstat()
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


# --- inside a clone, and the package imported from elsewhere --------------------------------

@pytest.mark.skipif(bool(os.environ.get("CXC_ROOT")), reason="CXC_ROOT names another project folder")
def test_inside_the_clone_the_project_folders_are_the_defaults():
    root = Path(__file__).resolve().parents[1]
    assert config.IN_CLONE and config.PROJECT_ROOT == root
    assert config.DATA_RAW == root / "data" / "raw" and config.NOTEBOOKS == root / "notebooks"
    assert config.DATA_PROCESSED == root / "data" / "processed" and config.REPORTS == root / "reports"
    assert config.DEFAULT_INPUT == root / "data" / "raw" / "remobilise_d51_exchanges.xlsx"


@pytest.mark.e2e
def test_outside_a_clone_resources_come_from_the_package_and_outputs_go_to_the_working_folder(tmp_path):
    """The package imported from a folder that is not a clone (as a wheel installs it), with its
    bundle laid out as setup.py lays it out: inputs from the bundle, outputs in the cwd."""
    site, work = tmp_path / "site-packages", tmp_path / "work"
    shutil.copytree(config.PACKAGE_DIR, site / "cxc_analysis", ignore=shutil.ignore_patterns("__pycache__"))
    for name, data in repository_bundle().items():
        target = site / "cxc_analysis" / config.BUNDLE / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    work.mkdir()
    code = ("import json, cxc_analysis; from cxc_analysis.core import config as c; print(json.dumps({k: str(v) for k, v in "
            "dict(file=cxc_analysis.__file__, clone=c.IN_CLONE, raw=c.DATA_RAW, nb=c.NOTEBOOKS, out=c.DATA_PROCESSED, "
            "reports=c.REPORTS, input=c.DEFAULT_INPUT, register=c.DEFAULT_REGISTER, template=c.TEMPLATES, "
            "vocab=c.resource('templates/cxc_report/conf.json'), missing=c.resource('nope.yaml')).items()}))")
    env = {k: v for k, v in os.environ.items() if k != "CXC_ROOT"} | {"PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    bundle = site / "cxc_analysis" / config.BUNDLE
    assert got["file"] == str(site / "cxc_analysis" / "__init__.py") and got["clone"] == "False"
    assert got["raw"] == str(bundle / "data" / "raw") and got["nb"] == str(bundle / "notebooks")
    assert got["out"] == str(work / "processed") and got["reports"] == str(work / "reports")
    assert got["input"] == str(bundle / "data" / "raw" / "remobilise_d51_exchanges.xlsx")
    assert got["register"] == str(bundle / "data" / "raw" / "register.csv")
    assert got["template"] == str(site / "cxc_analysis" / "templates")
    assert got["vocab"] == str(site / "cxc_analysis" / "templates" / "cxc_report" / "conf.json")
    assert got["missing"] == str(bundle / "data" / "raw" / "nope.yaml")


def test_resource_finds_data_raw_files_then_package_files():
    assert config.resource("register.csv") == DATA_RAW / "register.csv"
    assert config.resource("templates/cxc_report/report.css") == config.PACKAGE_DIR / "templates" / "cxc_report" / \
        "report.css"
    assert config.resource("no-such-file.yaml") == DATA_RAW / "no-such-file.yaml"


def test_version_option_prints_the_installed_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"cxc-analysis {__version__}" == f"cxc-analysis {version('cxc-analysis')}"


def test_notebooks_command_copies_the_notebooks_and_nothing_else(tmp_path):
    folder = tmp_path / "analysis"
    assert main(["notebooks", str(folder)]) == 0
    shipped = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert [p.name for p in sorted(folder.iterdir())] == [p.name for p in shipped]
    assert set(RUN_NOTEBOOKS) <= {p.name for p in shipped}
    assert all((folder / p.name).read_bytes() == p.read_bytes() for p in shipped)


def test_notebooks_command_keeps_an_analysts_edited_copy_unless_forced(tmp_path, capsys):
    main(["notebooks", str(tmp_path)])
    edited = tmp_path / "02_kpi_report.ipynb"
    edited.write_text("my work")
    assert main(["notebooks", str(tmp_path)]) == 2
    assert "already there" in capsys.readouterr().err and edited.read_text() == "my work"
    assert main(["notebooks", "--force", str(tmp_path)]) == 0
    assert edited.read_bytes() == (NOTEBOOKS / edited.name).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_notebooks_command_refuses_data_raw_and_a_file(tmp_path, capsys):
    before = sorted(p.name for p in DATA_RAW.iterdir())
    assert main(["notebooks", str(DATA_RAW)]) == 2
    (tmp_path / "f").write_text("x")
    assert main(["notebooks", str(tmp_path / "f")]) == 2
    assert sorted(p.name for p in DATA_RAW.iterdir()) == before and (tmp_path / "f").read_text() == "x"
    assert "not a folder" in capsys.readouterr().err


# --- the built and installed package ------------------------------------------------------

def _project_files(root: Path) -> list[str]:
    """The repository's files as git knows them (tracked and new, not ignored); without git,
    every file outside the usual build and output folders."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                                capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
        return [name for name in listed if name and (root / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [name for name in snapshot(root, frozenset(IGNORED)) if ".egg-info" not in name]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built with ``python -m build`` (isolated, as a user or CI would)
    from a copy of the repository, so the build writes nothing into the working tree."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in _project_files(PROJECT_ROOT):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, source / name)
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (sdist,), (wheel,) = list(out.glob("*.tar.gz")), list(out.glob("*.whl"))
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment (no system site-packages, nothing of the test's own
    environment) with the wheel installed by pip, dependencies resolved from its metadata."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(dist["wheel"])],
                          capture_output=True, text=True, timeout=1200, env=_clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True,
                           timeout=300, env=_clean_env())
    assert check.returncode == 0, check.stdout + check.stderr  # every declared dependency installed, consistent
    return venv


def _clean_env(**extra: str) -> dict[str, str]:
    drop = {"CXC_ROOT", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop} | {"PYTHONNOUSERSITE": "1"} | extra


@pytest.mark.packaging
@pytest.mark.e2e
def test_sdist_and_wheel_pass_twine_check(dist):
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


@pytest.mark.packaging
@pytest.mark.e2e
def test_wheel_and_sdist_carry_the_repository_copies_byte_for_byte(dist):
    wanted = repository_bundle()
    prefix = f"cxc_analysis/{config.BUNDLE}/"
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        bundled = {n.removeprefix(prefix): wheel.read(n) for n in wheel.namelist() if n.startswith(prefix)}
        names = set(wheel.namelist())
    assert bundled == wanted, sorted(set(bundled) ^ set(wanted)) or "same names, different bytes"
    assert {"cxc_analysis/templates/cxc_report/index.html.j2", "cxc_analysis/templates/cxc_report/report.css",
            "cxc_analysis/cli/main.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    with tarfile.open(dist["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        in_sdist = {m.name.removeprefix(top + "/"): m for m in sdist.getmembers() if m.isfile()}
        assert {name: sdist.extractfile(in_sdist[name]).read() for name in wanted if name in in_sdist} == wanted
    assert {"setup.py", "MANIFEST.in", "pyproject.toml", "LICENSE"} <= set(in_sdist)


@pytest.fixture(scope="module")
def runs(installed, tmp_path_factory) -> dict:
    """The installed commands run from an empty working folder, with a home and a temp folder
    of their own, and snapshots of the repository and the environment taken before and after."""
    root = tmp_path_factory.mktemp("user")
    work, home, tmp = root / "work", root / "home", root / "tmp"
    for folder in (work, home, tmp):
        folder.mkdir()
    env = _clean_env(HOME=str(home), TMPDIR=str(tmp), MPLBACKEND="Agg",
                     PATH=f"{installed / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    repo_before, venv_before = snapshot(PROJECT_ROOT, frozenset({".git", ".venv"})), snapshot(installed)
    tracker = _tracker_csv(root / "my tracker.csv")  # prepared outside, so the folder starts empty

    def run(*args: str, program: str = "cxc-analysis", cwd: Path = work) -> subprocess.CompletedProcess:
        return subprocess.run([str(installed / "bin" / program), *args], capture_output=True, text=True, cwd=cwd,
                              env=env, timeout=900)

    done = {"where": run("-c", "import cxc_analysis, cxc_analysis.core.config as c; print(cxc_analysis.__file__, "
                               "c.IN_CLONE)", program="python"),
            "version": run("--version"),
            "kpis": run("kpis"), "kpis json": run("kpis", "--json"), "kpis by path": run("kpis", "--json", "--partnership", "REMOBILISE", str(tracker)),
            "check": run("check"), "check json": run("check", "--json"),
            "check by path": run("check", "--json", str(tracker)),
            "report": run("report"), "report by path": run("report", "--input", str(tracker), "--partnership", "REMOBILISE",
                                  "--period", "M12 (January 2023)", "--out", "reports/mine"),
            "clean": run("clean"), "notebooks": run("notebooks", "analysis")}
    copied = sorted(p.name for p in (work / "analysis").iterdir()) if (work / "analysis").is_dir() else []
    done["copied notebook"] = run("-k", "python3", "--no-progress-bar", "01_clean_and_validate.ipynb", "run.ipynb",
                                  program="papermill", cwd=work / "analysis")
    return {"done": done, "copied": copied, "work": work, "home": home, "tmp": tmp, "venv": installed, "tracker": tracker,
            "repo_before": repo_before, "repo_after": snapshot(PROJECT_ROOT, frozenset({".git", ".venv"})),
            "venv_before": venv_before, "venv_after": snapshot(installed)}


def _tracker_csv(path: Path) -> Path:
    """The D5.1 exchanges sheet as a user's CSV tracker, row for row."""
    from openpyxl import load_workbook

    book = load_workbook(config.DEFAULT_INPUT, read_only=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["" if v is None else v for v in row]
                                      for row in book["Exchanges"].iter_rows(values_only=True)])
    book.close()
    return path


def _output(runs: dict, name: str) -> str:
    proc = runs["done"][name]
    assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.mark.packaging
@pytest.mark.e2e
def test_installed_package_is_the_wheel_not_the_clone(runs):
    where, in_clone = _output(runs, "where").split()
    assert Path(where).is_relative_to(runs["venv"]) and "site-packages" in where and in_clone == "False"
    assert _output(runs, "version").strip() == f"cxc-analysis {__version__}"


@pytest.mark.packaging
@pytest.mark.e2e
def test_installed_kpis_and_check_give_the_golden_figures_on_the_sample_and_on_a_tracker_by_path(runs, capsys):
    for name in ("kpis json", "kpis by path"):
        kpis = json.loads(_output(runs, name))
        assert kpis["actual"] == GOLDEN_ACTUAL and kpis["target"] == GOLDEN_TARGET, name
        assert kpis["pending"]["exchanges"] == 5, name
    assert "52.5" in _output(runs, "kpis")
    sample, by_path = json.loads(_output(runs, "check json")), json.loads(_output(runs, "check by path"))
    assert sample == by_path
    assert main(["check", "--json"]) == 0  # the clone's own answer, with the repository's register and rules
    assert sample == json.loads(capsys.readouterr().out)
    fails = {(r["row"], r["rule"]) for r in sample if r["outcome"] == "fail"}
    assert (12, "eligible_country") in fails  # SAMS Norway, placed by the bundled register
    assert "cross_border" in _output(runs, "check")


@pytest.mark.packaging
@pytest.mark.e2e
def test_installed_report_writes_its_report_into_the_working_folder(runs):
    import pandas as pd

    _output(runs, "report"), _output(runs, "report by path")
    reports = runs["work"] / "reports"
    (default_run,) = [p for p in reports.iterdir() if p.name != "mine"]
    assert default_run.name.startswith("remobilise_m12")
    for run in (default_run, reports / "mine"):
        assert {"report.html", "report.pdf", "report.xlsx", "provenance.json"} <= {p.name for p in run.iterdir()}
        kpis = pd.read_excel(run / "report.xlsx", sheet_name="KPIs", engine="openpyxl").set_index("KPI")
        assert kpis["Completed"].to_dict() == GOLDEN_ACTUAL and kpis["Target"].to_dict() == GOLDEN_TARGET
    provenance = json.loads((reports / "mine" / "provenance.json").read_text())
    assert provenance["input_file"] == runs["tracker"].name


@pytest.mark.packaging
@pytest.mark.e2e
def test_installed_clean_and_notebooks_write_into_the_working_folder(runs):
    _output(runs, "clean"), _output(runs, "notebooks")
    work = runs["work"]
    assert {"exchanges.parquet", "exchanges.csv", "findings.csv"} <= {p.name for p in (work / "processed").iterdir()}
    shipped = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert runs["copied"] == [p.name for p in shipped]
    assert all((work / "analysis" / p.name).read_bytes() == p.read_bytes() for p in shipped)
    _output(runs, "copied notebook")  # run where it was copied: the bundled data in, ./processed/ out
    assert {"exchanges.parquet", "findings.parquet"} <= {p.name for p in (work / "analysis" / "processed").iterdir()}


@pytest.mark.packaging
@pytest.mark.e2e
def test_installed_commands_write_nothing_outside_the_working_folder(runs):
    """The repository and the installed environment are as they were, the temp folder is empty
    again, and the home folder holds no output (only the libraries' caches)."""
    assert all(proc.returncode == 0 for proc in runs["done"].values())
    assert sorted(p.name for p in runs["work"].iterdir()) == ["analysis", "processed", "reports"]
    assert runs["repo_after"] == runs["repo_before"]
    assert runs["venv_after"] == runs["venv_before"]
    assert list(runs["tmp"].iterdir()) == []
    outputs = [p for p in runs["home"].rglob("*") if p.suffix in (".html", ".pdf", ".xlsx", ".parquet", ".csv")
               or p.name.endswith(".ipynb")]
    assert outputs == []
