"""The project's promises about itself: dependencies in step, notebooks without outputs, the
README's table of columns true to the schema, end-to-end tests marked, `make test` running all."""

import ast
import json
import re
import tomllib

import yaml

from cxc_analysis.core.config import NOTEBOOKS, PROJECT_ROOT
from cxc_analysis.core.schema import TABLE

CONDA_NAMES = {"build": "python-build"}  # PyPI name -> conda-forge name, where they differ


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(s) for s in project["dependencies"]} | {_name(s) for s in project["optional-dependencies"]["test"]}
    wanted = {CONDA_NAMES.get(name, name) for name in wanted}
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    listed = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    assert wanted == listed - {"python", "pip"}


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert notebooks, f"no notebook in {NOTEBOOKS}"
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


# What the README's "type" column says for each declared dtype.
README_TYPES = {"int64": "int", "string": "text", "category": "category", "boolean": "boolean",
                "datetime": "date", "Float64": "number"}


def _readme_columns() -> list[tuple[list[str], str, str]]:
    """The rows of the README's "canonical table": (column names, type, meaning)."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The canonical table", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("| `")]
    return [(re.findall(r"`(\w+)`", names), kind.strip(), meaning.strip()) for names, kind, meaning in rows]


def test_readme_canonical_table_matches_the_schema():
    rows = _readme_columns()
    assert [name for names, _, _ in rows for name in names] == [f.name for f in TABLE]
    fields = {f.name: f for f in TABLE}
    for names, kind, meaning in rows:
        for name in names:
            field = fields[name]
            assert kind.split(",")[0] == README_TYPES[field.dtype], (name, kind)
            if field.allowed:
                assert re.findall(r"`(\w+)`", meaning) == list(field.allowed), name


def _marked_e2e(node: ast.FunctionDef) -> bool:
    return any("e2e" in ast.unparse(decorator) for decorator in node.decorator_list)


def test_every_end_to_end_test_is_marked():
    """A test that starts a subprocess (the command line, papermill) or uses a report-run fixture is
    marked ``e2e``, so ``pytest -m "not e2e"`` runs the unit layer alone in seconds."""
    unmarked = []
    for path in sorted((PROJECT_ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_marked = any(isinstance(n, ast.Assign) and "pytestmark" in ast.unparse(n) and "e2e" in ast.unparse(n)
                            for n in tree.body)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            called = {ast.unparse(c.func).split(".")[0] for c in ast.walk(node) if isinstance(c, ast.Call)}
            fixtures = {a.arg for a in node.args.args}
            if (called & {"run_cli", "subprocess"} or fixtures & {"bundled_run", "hostile_run"}) \
                    and not (module_marked or _marked_e2e(node)):
                unmarked.append(f"{path.name}::{node.name}")
    assert unmarked == []


def test_make_test_runs_lint_doctests_and_every_test():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in recipe and "pytest" in recipe and "not e2e" not in recipe
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    pytest_options = project["tool"]["pytest"]["ini_options"]  # a plain pytest: tests and the doctests of src/
    assert pytest_options["testpaths"] == ["src", "tests"] and "--doctest-modules" in pytest_options["addopts"]
    assert any(spec.startswith("ruff") for spec in project["project"]["optional-dependencies"]["test"])
    assert "e2e" in " ".join(project["tool"]["pytest"]["ini_options"]["markers"])

