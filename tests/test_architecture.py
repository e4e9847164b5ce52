"""The package's shape (docs/architecture.md): import-linter's contracts hold (layers follow the data
flow, no cycles), and no module uses another module's private (``_``) names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cxc_analysis"
PYPROJECT = PACKAGE.parents[1] / "pyproject.toml"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_import_linter_contracts_are_kept():
    """`lint-imports` (also run by `make test`): the layers contract and no cycles between siblings."""
    pytest.importorskip("importlinter")
    from importlinter.application.use_cases import lint_imports

    assert lint_imports(config_filename=str(PYPROJECT)) == 0, "broken import contracts: run lint-imports"


def private_uses(path: Path) -> list[str]:
    """``from cxc_analysis.x import _name`` and ``module._name`` where ``module`` is an imported
    package module: each one a line of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cxc_analysis"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno} imports {node.module}.{alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append(f"{path.name}:{node.lineno} uses a relative import (write it absolute)")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cxc_analysis") and alias.asname:
                    modules.add(alias.asname)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_no_module_uses_another_modules_private_names(path):
    assert private_uses(path) == []


def test_the_private_name_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from cxc_analysis.read.tracker import _secret\nfrom cxc_analysis.core import text\n"
                   "text._hidden(1)\n", encoding="utf-8")
    assert len(private_uses(bad)) == 2
