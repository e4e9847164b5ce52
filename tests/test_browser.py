"""Real-browser tests: the notebooks run in JupyterLab through its own menus, and the exported
report.html opened offline and printed to PDF, in headless Chromium (Debian's package, driven by
Playwright; tools/system-deps.sh installs it). Marked ``browser``; part of ``make test``. Without
Chromium or Playwright they are skipped on a developer's machine and fail in CI (CI=true).
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.request
from pathlib import Path

import pytest
from pypdf import PdfReader

from cxc_analysis.core.config import NOTEBOOKS, PROJECT_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK_NAMES = ("01_clean_and_validate.ipynb", "02_kpi_report.ipynb", "03_explore.ipynb")
SCREEN = {"width": 1400, "height": 900}
A4_POINTS = (595.28, 841.89)
KPI_ROWS = 7
LAB_SETTINGS = {  # every cell in the DOM (the page is checked whole), the notebook's kernel started without asking
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
ERROR_TEXT = re.compile(r"Traceback|\b\w*(Error|Exception)\b")


def _require_browser():
    """Skip without Chromium or Playwright, except in CI, where their absence is a failure."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install -e '.[test]')"
    if problem is None and not Path(CHROMIUM).is_file():
        problem = f"no Chromium at {CHROMIUM} (tools/system-deps.sh installs Debian's chromium)"
    if problem and os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {problem}")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile, closed at the end of the module."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport=SCREEN)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module", autouse=True)
def report_run(tmp_path_factory):
    """``cxc-analysis report`` on the bundled data, started as the module begins so that it runs
    while JupyterLab is tested (the module's time); its report.html is tested at the end."""
    _require_browser()
    folder = tmp_path_factory.mktemp("report")
    log = folder / "report.log"
    with log.open("w") as stream:
        proc = subprocess.Popen([sys.executable, "-m", "cxc_analysis", "report", "--out", str(folder / "run")],
                                stdout=stream, stderr=subprocess.STDOUT)
    try:
        yield proc, folder / "run", log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- JupyterLab ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_home(base: Path) -> dict[str, str]:
    """A private Jupyter home: project copy (data/raw and the notebooks, so the committed
    notebooks never get outputs and data/processed is the copy's), config, data, runtime,
    settings and IPython dirs; a ``python3`` kernelspec running this very interpreter."""
    project = base / "project"
    shutil.copytree(PROJECT_ROOT / "data" / "raw", project / "data" / "raw")
    (project / "data" / "processed").mkdir()
    project_notebooks = project / "notebooks"
    project_notebooks.mkdir()
    for name in NOTEBOOK_NAMES:
        shutil.copy2(NOTEBOOKS / name, project_notebooks / name)
    dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for folder in dirs.values():
        folder.mkdir()
    kernel = dirs["data"] / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (cxc-analysis)", "language": "python"}))
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit(":", 1)
        (dirs["settings"] / package).mkdir(parents=True, exist_ok=True)
        (dirs["settings"] / package / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update(CXC_ROOT=str(project), JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_PATH=str(dirs["data"]), JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
               IPYTHONDIR=str(dirs["ipython"]), JUPYTER_PLATFORM_DIRS="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return {"env": env, "root": str(project_notebooks), "settings": str(dirs["settings"]),
            "workspaces": str(dirs["workspaces"])}


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real ``jupyter lab`` on 127.0.0.1 (free port, random token, own dirs) serving a copy of
    the notebooks; stopped at the end, whatever happened."""
    _require_browser()
    base = tmp_path_factory.mktemp("lab")
    home = _lab_home(base)
    port, token = _free_port(), secrets.token_hex(24)
    log = (base / "jupyter.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={home['root']}", f"--LabApp.user_settings_dir={home['settings']}",
         f"--LabApp.workspaces_dir={home['workspaces']}", "--LabApp.extension_manager=readonly",
         "--ServerApp.terminals_enabled=False", "--LabApp.expose_app_in_browser=True",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=home["env"], cwd=base, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}: {(base / 'jupyter.log').read_text()[-2000:]}")
            try:
                _get_json(f"{url}/api/status?token={token}")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not answer within 60 s")
                time.sleep(0.3)
        yield {"url": url, "token": token, "root": Path(home["root"]), "shots": base}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the server's own process group: it and its kernels
            proc.wait(timeout=10)
        log.close()


def _run_all_cells(page) -> None:
    """Run -> Run All Cells from JupyterLab's menu bar, then wait until no cell is queued or
    running and the kernel is idle."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
        const status = document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status');
        return prompts.length > 0 && !prompts.some(p => p.includes('*')) && status === 'idle'
            && prompts.some(p => /\\[\\d+\\]/.test(p));
    }""", timeout=90_000, polling=250)


def _open_notebook(browser, lab, name: str):
    page = browser.new_page()
    page.route(re.compile(r"^(?!http://127\.0\.0\.1:\d+/).+"), lambda route: route.abort())  # nothing leaves
    # a workspace of its own, so that no other notebook is restored into the page
    page.goto(f"{lab['url']}/lab/workspaces/{Path(name).stem}/tree/{name}?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.wait_for_function("""async (name) => {  // this notebook's kernel connected and idle (not just shown idle)
        const panel = window.jupyterapp?.shell.currentWidget;
        if (!panel?.sessionContext || panel.context?.path !== name) return false;
        await panel.sessionContext.ready;
        const kernel = panel.sessionContext.session?.kernel;
        return kernel?.connectionStatus === 'connected' && kernel.status === 'idle';
    }""", arg=name, timeout=60_000, polling=250)
    return page


def _screenshot_whole(page, path: Path) -> None:
    """One picture of the whole notebook: its scroll area captured screen by screen and stacked."""
    from PIL import Image

    scroller = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer")
    box = scroller.bounding_box()
    total, step = scroller.evaluate("el => [el.scrollHeight, el.clientHeight]")
    parts = []
    for top in range(0, total, step):
        scroller.evaluate("(el, top) => { el.scrollTop = top; }", top)
        page.wait_for_timeout(150)  # let JupyterLab paint what came into view
        shot = path.with_name(f"{path.stem}.part{len(parts)}.png")
        page.screenshot(path=str(shot), clip=box)
        parts.append((shot, scroller.evaluate("el => el.scrollTop")))
    whole = Image.new("RGB", (round(box["width"]), total), "white")
    for shot, top in parts:
        with Image.open(shot) as image:
            whole.paste(image, (0, round(top)))
        shot.unlink()
    whole.save(path)
    scroller.evaluate("el => { el.scrollTop = 0; }")


def _cell_report(page) -> dict:
    """Per code cell in the rendered notebook: its prompt and the text of its error outputs."""
    return page.evaluate("""() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(cell => ({
        prompt: cell.querySelector('.jp-InputPrompt')?.textContent.trim(),
        errors: [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                 .map(o => o.textContent)}))""")


def _assert_ran_cleanly(page, name: str) -> None:
    cells = _cell_report(page)
    assert cells, name
    not_run = [c["prompt"] for c in cells if not re.search(r"\[\d+\]", c["prompt"] or "")]
    errors = [e[:300] for c in cells for e in c["errors"] if ERROR_TEXT.search(e)]
    assert not not_run and not errors, (name, not_run, errors)


@pytest.fixture(scope="module")
def ran_in_lab(browser, lab):
    """Each notebook opened in JupyterLab and run with Run -> Run All Cells, in order (02 reads
    what 01 wrote in the copy's data/processed); a screenshot of each, page left open."""
    pages = {}
    for name in NOTEBOOK_NAMES:
        page = _open_notebook(browser, lab, name)
        pages[name] = page
        try:
            _run_all_cells(page)
        except Exception:
            page.screenshot(path=str(lab["shots"] / f"{Path(name).stem}-FAILED.png"))
            print(f"{name} did not finish; screenshot and jupyter.log in {lab['shots']}:", _cell_report(page))
            raise
        _screenshot_whole(page, lab["shots"] / f"{Path(name).stem}.png")
    yield pages
    for page in pages.values():
        page.close()


def test_every_notebook_runs_all_cells_in_jupyterlab_without_error(ran_in_lab, lab):
    for name, page in ran_in_lab.items():
        _assert_ran_cleanly(page, name)
        assert (lab["shots"] / f"{Path(name).stem}.png").stat().st_size > 10_000
    for name in NOTEBOOK_NAMES:  # the copies got outputs; the committed notebooks did not
        assert '"outputs": []' in (NOTEBOOKS / name).read_text() and '"execution_count": null' in (
            NOTEBOOKS / name).read_text()


def test_kpi_table_shows_42_of_80_in_jupyterlab(ran_in_lab, lab):
    page = ran_in_lab["02_kpi_report.ipynb"]
    rows = page.locator(".jp-OutputArea-output table.kpi tbody tr")
    assert rows.count() == KPI_ROWS
    exchanges = rows.filter(has_text=re.compile(r"^\s*Exchanges")).locator("td").all_inner_texts()
    assert exchanges[:4] == ["Exchanges", "42", "5", "80"], exchanges
    assert "has completed 42 exchanges of the 80" in page.locator(".headline").inner_text()
    page.locator("table.kpi").scroll_into_view_if_needed()
    page.screenshot(path=str(lab["shots"] / "02_kpi_report_kpi_table.png"))


def test_explore_notebook_answers_in_jupyterlab(ran_in_lab):
    text = ran_in_lab["03_explore.ipynb"].locator(".jp-Notebook").inner_text()
    assert "Exchanges of NextMove" in text and "{'host': 33, 'visitor': 1}" in text
    assert "5 exchanges not yet completed" in text and "FR and NL: 18 exchanges" in text


def _scrolls_sideways(cell) -> bool:
    """Whether a code cell's editor is wider than the cell (a horizontal scrollbar)."""
    scroll, visible = cell.locator(".cm-scroller").evaluate("el => [el.scrollWidth, el.clientWidth]")
    return scroll > visible


def test_parameter_cells_fit_1400_pixels_without_scrolling(ran_in_lab, lab):
    for name, page in ran_in_lab.items():
        cell = page.locator(".jp-Notebook .jp-CodeCell").first  # the parameters cell comes first
        source = json.loads((lab["root"] / name).read_text())["cells"][1]["source"]
        first_line = "".join(source).splitlines()[0].strip()
        assert cell.locator(".cm-content").inner_text().startswith(first_line), name
        assert not _scrolls_sideways(cell), name


def test_error_in_a_cell_is_seen(browser, lab):
    """The checks above could fail: a cell that raises and a long comment are caught by them."""
    broken = lab["root"] / "broken.ipynb"
    broken.write_text(json.dumps({"cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "x = 1  # " + "a comment far too long for the screen " * 6},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "raise ValueError('chart broke')"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "y = 2"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    page = _open_notebook(browser, lab, "broken.ipynb")
    try:
        _run_all_cells(page)
        with pytest.raises(AssertionError, match="ValueError"):
            _assert_ran_cleanly(page, "broken.ipynb")
        assert _scrolls_sideways(page.locator(".jp-Notebook .jp-CodeCell").first)
    finally:
        page.close()


def test_kernel_is_this_python(ran_in_lab, lab):
    specs = _get_json(f"{lab['url']}/api/kernelspecs?token={lab['token']}")
    assert specs["kernelspecs"]["python3"]["spec"]["argv"][0] == sys.executable
    sessions = _get_json(f"{lab['url']}/api/sessions?token={lab['token']}")
    assert {s["kernel"]["name"] for s in sessions} == {"python3"} and len(sessions) >= len(NOTEBOOK_NAMES)


def test_missing_chromium_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    import test_browser

    monkeypatch.setattr(test_browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="browser tests cannot run in CI: no Chromium"):
        _require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        _require_browser()


# --- the exported report ------------------------------------------------------------------

@pytest.fixture(scope="module")
def report_html(report_run):
    proc, out, log = report_run
    proc.wait(timeout=600)
    assert proc.returncode == 0, log.read_text()[-2000:]
    return out / "report.html"


@pytest.fixture(scope="module")
def offline_page(browser, report_html):
    """report.html opened with every non-file request aborted and recorded, console errors kept."""
    page = browser.new_page()
    requests, console = [], []

    def block(route):
        requests.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(?!file:).+"), block)
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    page.goto(report_html.as_uri(), wait_until="load")
    yield page, requests, console
    page.close()


def test_report_loads_nothing_from_outside_and_logs_no_error(offline_page):
    page, requests, console = offline_page
    assert requests == [] and console == []


def test_report_kpi_table_and_charts_render(offline_page, report_html):
    page, _, _ = offline_page
    kpi = page.locator("table.kpi")
    box = kpi.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0
    assert kpi.locator("tbody tr").count() == KPI_ROWS
    assert kpi.locator("tbody tr").first.locator("td").all_inner_texts()[:4] == ["Exchanges", "42", "5", "80"]
    charts = page.locator("figure.chart img")
    assert charts.count() == report_html.read_text(encoding="utf-8").count('<figure class="chart"') >= 5
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        size = chart.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        box = chart.bounding_box()
        assert size[0] and size[1] > 0 and size[2] > 0 and box["width"] > 0 and box["height"] > 0, (i, size, box)


def _squash(text: str) -> str:
    """Text without white space, ligatures as letters ("ﬁ" -> "fi"): PDF text compares with the page's."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def test_report_prints_to_a4_pages_without_cut_rows(offline_page, tmp_path):
    page, requests, _ = offline_page
    pdf = tmp_path / "printed.pdf"
    page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True, print_background=True)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    reader = PdfReader(pdf)
    assert len(reader.pages) > 3
    for number, pdf_page in enumerate(reader.pages, 1):
        size = sorted((float(pdf_page.mediabox.width), float(pdf_page.mediabox.height)))
        assert abs(size[0] - A4_POINTS[0]) < 1 and abs(size[1] - A4_POINTS[1]) < 1, (number, size)
    pages = [_squash(p.extract_text()) for p in reader.pages]
    rows = page.evaluate("""() => [...document.querySelectorAll('table.data')].map(t => ({
        css: t.className, rows: [...t.querySelectorAll('tbody tr')].map(
            tr => [...tr.querySelectorAll('td')].map(td => td.innerText))}))""")
    kpi_rows = next(t["rows"] for t in rows if "kpi" in t["css"])
    assert sum(any(_squash(" ".join(r[:2])) in p for p in pages) for r in kpi_rows) == KPI_ROWS
    cut = [(t["css"], r[:3]) for t in rows for r in t["rows"]
           if not any(all(_squash(cell) in p for cell in r) for p in pages)]
    assert not cut, f"table rows not whole on one printed page: {cut[:5]}"
    assert requests == []
