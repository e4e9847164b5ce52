"""Grant-agreement targets: which file applies to a partnership, and the targets it gives."""

from __future__ import annotations

from pathlib import Path

from cxc_analysis.core.config import DEFAULT_TARGETS
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import KPI_NAMES
from cxc_analysis.core.yamlfile import FILE_KEYS, check_keys, read_yaml, shown

MAX_TARGET = 1_000_000



def read_targets(path: str | Path) -> dict[str, int]:
    """Grant-agreement targets from a YAML file (see data/raw/remobilise_targets.yaml).

    >>> read_targets(DEFAULT_TARGETS)["exchanges"]  # doctest: +SKIP
    80
    """

    data = read_yaml(path)
    nested = "targets" in data  # else the KPI names stand at the top level
    check_keys(data, FILE_KEYS["targets"][""] + (() if nested else KPI_NAMES), file=path)
    if isinstance(data.get("project"), dict):
        check_keys(data["project"], FILE_KEYS["targets"]["project"], file=path, where="project")
    targets = data["targets"] if nested else {k: v for k, v in data.items() if k in KPI_NAMES}
    if not isinstance(targets, dict):
        raise InputError("'targets' must be a mapping of KPI names to numbers", file=path)
    check_keys(targets, KPI_NAMES, file=path, what="target")
    out = {}
    for name, value in targets.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TARGET:
            raise InputError(f"target '{name}' must be a whole number from 0 to {MAX_TARGET:,}, not {shown(value)}",
                             file=path)
        out[name] = value
    return out



def targets_owner(path: str | Path = DEFAULT_TARGETS) -> str:
    """The partnership a targets file says it belongs to (its ``partnership:`` key), or ''."""
    owner = read_yaml(path).get("partnership", "")
    return owner if isinstance(owner, str) else ""



def targets_file_for(partnership: str | None, path: str | Path | None = None) -> Path | None:
    """Which targets file applies: the given one; without one, the bundled file only if it is
    that partnership's (its ``partnership:`` key); else None. The one place this is decided, for
    the targets, the project dates and the budget alike.

    >>> targets_file_for("REMOBILISE").name, targets_file_for("OTHER")
    ('remobilise_targets.yaml', None)
    """
    if path:
        return Path(path)
    if partnership and targets_owner().casefold() == str(partnership).casefold():
        return Path(DEFAULT_TARGETS)
    return None



def targets_for(partnership: str | None, path: str | Path | None = None) -> dict[str, int]:
    """The targets to report against: the given file's; without one, the bundled file's only if
    it is that partnership's (its ``partnership:`` key), else none, so another partnership is
    never measured against REMOBILISE's grant agreement.

    >>> targets_for("REMOBILISE")["sme"], targets_for("OTHER"), targets_for(None)
    (40, {}, {})
    """
    chosen = targets_file_for(partnership, path)
    return read_targets(chosen) if chosen is not None else {}
