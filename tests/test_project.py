"""The project's promises about itself: dependencies in step, notebooks without outputs."""

import json
import re
import tomllib

import yaml

from cxc_analysis.config import NOTEBOOKS, PROJECT_ROOT


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
    for path in notebooks:
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
