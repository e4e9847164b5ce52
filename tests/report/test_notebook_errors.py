"""A failed notebook names the line that failed: the cell's line, and the package's line below it."""

import nbformat
import pytest

from cxc_analysis.report import runner as report
from cxc_analysis.report.runner import RunFailed, failing_lines


@pytest.mark.e2e
def test_failed_cell_names_its_failing_line_not_its_first(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"),
                      nbformat.v4.new_code_cell("from IPython.display import HTML, display\n"
                                                "from cxc_analysis.core.text import excel_text\n"
                                                "shown = excel_text('fine')\n"
                                                "excel_text(None)  # fails inside the package\n"
                                                "display(HTML(shown))")]
    nbformat.write(notebook, notebooks / "t.ipynb")
    monkeypatch.setattr(report, "NOTEBOOKS", notebooks)
    (tmp_path / "work").mkdir()
    with pytest.raises(RunFailed) as failed:
        report._execute("t.ipynb", {}, tmp_path / "work", {}, False)
    message = str(failed.value)
    assert message.startswith("notebook t.ipynb failed at cell In [2], line 4 `excel_text(None)  # fails inside")
    assert "(in cxc_analysis/core/text.py:" in message and "TypeError: " in message
    assert "from IPython.display" not in message


def test_failing_lines_without_a_cell_frame_names_the_first_line():
    assert failing_lines("\n  import os\nos.x", ["SyntaxError: invalid syntax"]) == " (first line `import os`)"
    assert failing_lines("", []) == " (empty cell)"


def test_failing_lines_prefers_the_package_frame_over_library_frames():
    traceback = ["\x1b[31m---\x1b[39m", "Cell In[3], line 2\n      1 a = 1\n----> 2 run(a)\n",
                 "File /x/src/cxc_analysis/annotate.py:66, in _csv_rows(path)\n---> 66 text = raw.decode(None)\n",
                 "File /usr/lib/python3.11/json/decoder.py:353, in raw_decode(s)\n--> 353     obj = scan(s)\n",
                 "TypeError: boom"]
    assert failing_lines("a = 1\nrun(a)", traceback) == \
        ", line 2 `run(a)` (in cxc_analysis/annotate.py:66 `text = raw.decode(None)`)"
