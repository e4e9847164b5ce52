"""A run's settings, resolved once: defaults, a ``--params`` file, a batch run entry and the
command line, for ``report``, ``batch``, ``kpis``, ``check`` and ``clean`` alike.

Each setting is declared once in ``KEYS`` (its name as users write it, its kind, the notebook
parameter it sets, its help); a new setting is one more row. Paths are rebased once, when a
layer is read: relative to the settings or run file's folder, or to the current directory for
the command line. Targets, register and deliverable metadata are resolved here and nowhere else,
so a report, its batch index and ``kpis`` cannot disagree. Errors name the user's keys
(``targets``, ``input``), never the notebooks' (``targets_path``).

>>> s = Settings.from_layers(layer({"partnership": "OTHER"}, base=Path("/tmp"), origin="run.yaml"))
>>> s.partnership, s.targets
('OTHER', {})
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cxc_analysis.core.config import (
    DEFAULT_INPUT,
    DEFAULT_PARTNERSHIP,
    DEFAULT_PERIOD,
    DEFAULT_REGISTER,
    NOTEBOOKS,
)
from cxc_analysis.core.errors import InputError
from cxc_analysis.core.yamlfile import FILE_KEYS, MAX_SHOWN, check_keys, parse_yaml, read_yaml, shown
from cxc_analysis.reference.targets import targets_file_for, targets_for

REPORT, KPIS, CHECK, CLEAN = "report", "kpis", "check", "clean"
RUN_NOTEBOOKS = ("01_clean_and_validate.ipynb", "02_kpi_report.ipynb")  # run in this order by `report`


@dataclass(frozen=True)
class Key:
    """One setting: ``name`` as users write it (settings file, batch run, ``--name``), ``kind``
    (``text`` or ``path``), the notebook parameter it sets (None: the run itself uses it), help,
    and the commands that offer it as an option."""

    name: str
    kind: str
    notebook: str | None
    help: str
    commands: tuple[str, ...] = (REPORT,)


KEYS: tuple[Key, ...] = (
    Key("input", "path", "input_path", "tracker .xlsx or .csv (default: the bundled D5.1 workbook)"),
    Key("sheet", "text", "sheet", "sheet holding the exchanges (default: found by its headers)"),
    Key("columns", "path", "columns_path", "column map YAML: canonical field -> the tracker's header "
        "(for headers no vocabulary knows)", (REPORT, KPIS, CHECK, CLEAN)),
    Key("vocabulary", "path", "vocabulary_path", "more header words and label synonyms (YAML, the format of "
        "the bundled vocabulary.yaml)", (REPORT, KPIS, CHECK, CLEAN)),
    Key("targets", "path", "targets_path",
        "targets YAML (default: the bundled REMOBILISE targets, for REMOBILISE only)", (REPORT, KPIS, CLEAN)),
    Key("partnership", "text", "partnership",
        "partnership whose tracker this is (default: REMOBILISE, for the bundled data only)", (REPORT, KPIS, CLEAN)),
    Key("period", "text", "period", 'reporting-period label, e.g. "M24 (January 2024)"', (REPORT, CLEAN)),
    Key("register", "path", "register_path", "organisation register CSV for the programme rules "
        "(default: the bundled register)", (REPORT, CHECK)),
    Key("rules", "path", "rules_path", "programme rule set YAML (default: the bundled COSME rule set)",
        (REPORT, CHECK)),
    Key("previous", "path", "previous_path",
        "earlier tracker or report run folder: the report shows what changed since"),
    Key("deliverable", "path", None, "deliverable-metadata YAML for the front matter (default: REMOBILISE D5.1's)"),
    Key("out", "path", None, "run folder (default: reports/<partnership>_<period>_<time>/)"),
)
BY_NAME = {key.name: key for key in KEYS}
BY_NOTEBOOK = {key.notebook: key for key in KEYS if key.notebook}
PATH_PARAMETERS = tuple(key.notebook for key in KEYS if key.kind == "path" and key.notebook)  # file parameters
RUN_ONLY = ("name",)  # keys a batch run entry may add: its folder name
INTERNAL = ("processed_dir", "annotate")  # notebook parameters set by the run itself, not by users
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool}
MAX_TEXT = 2000  # characters a text setting may hold


# --- reading small YAML files safely ------------------------------------------------------


# --- the keys a file may hold ---------------------------------------------------------------


# --- targets --------------------------------------------------------------------------------


# --- notebook parameters ------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def notebook_parameters() -> dict[str, dict]:
    """Every parameter of the report notebooks: type, default, help and the notebooks using it
    (read once per process; do not modify the result).

    >>> notebook_parameters()["partnership"]["type"]
    'str'
    """
    import papermill

    params: dict[str, dict] = {}
    for name in RUN_NOTEBOOKS:
        for key, info in papermill.inspect_notebook(str(NOTEBOOKS / name)).items():
            entry = params.setdefault(key, {"type": info["inferred_type_name"], "default": info["default"],
                                            "help": info["help"], "notebooks": []})
            entry["notebooks"].append(name)
    return params


def user_parameters() -> dict[str, dict]:
    """The notebook parameters a user may set by name (not the run's own, not those a key sets)."""
    return {k: v for k, v in notebook_parameters().items() if k not in INTERNAL and k not in BY_NOTEBOOK}


def check_parameters(given: dict, *, source: str = "report parameters") -> dict:
    """Refuse unknown notebook parameters and values of the wrong type before anything runs.

    >>> check_parameters({"partnership": "X"})
    {'partnership': 'X'}
    """
    known = {k: v for k, v in notebook_parameters().items() if k not in INTERNAL}
    for name, value in given.items():
        if name not in known:
            raise InputError(f"unknown parameter {shown(name)} (known: {', '.join(sorted(known))})", file=source)
        _check_type(name, value, known[name]["type"], source)
    return dict(given)


def _check_type(name: str, value: object, type_name: str, origin: str) -> None:
    expected = TYPES.get(type_name)
    if expected and (not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))):
        hint = ": put it in quotes" if expected is str and isinstance(value, (int, float)) else ""
        raise InputError(f"'{name}' must be {_WORDS.get(type_name, type_name)}, not {shown(value)}{hint}",
                         file=origin)
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise InputError(f"'{name}' is longer than {MAX_TEXT} characters", file=origin)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > 10 ** 15:
        raise InputError(f"'{name}' is out of range: {shown(value)}", file=origin)


_WORDS = {"str": "text (str)", "int": "a whole number (int)", "float": "a number (float)", "bool": "true or false",
          "path": "a file or folder path (text)"}


def describe() -> list[str]:
    """One line per setting a user may give, for ``report --list-parameters``."""
    lines = [f"{key.name} ({key.kind}): {key.help}" for key in KEYS]
    for name, info in user_parameters().items():
        lines.append(f"{name} ({info['type']}, default {info['default']}): {info['help']}")
    return lines


# --- layers ---------------------------------------------------------------------------------

def layer(data: dict, *, base: Path, origin: str, notebook: bool = False, extra: tuple[str, ...] = ()) -> dict:
    """One layer of settings checked and with its paths rebased on ``base``; returns
    ``{key or notebook parameter: value}``. Notebook names of keys (``targets_path``) are taken
    as the key (``targets``); other notebook parameters only where ``notebook`` is true.

    >>> layer({"targets": "t.yaml", "period": "M6"}, base=Path("/srv"), origin="run.yaml")
    {'targets': '/srv/t.yaml', 'period': 'M6'}
    """
    out: dict = {}
    for name, value in data.items():
        if not isinstance(name, str):
            raise InputError(f"setting names are text, not {shown(name)}", file=origin)
        key = BY_NAME.get(name) or BY_NOTEBOOK.get(name)
        if key is None and name in extra:
            out[name] = _text(name, value, origin)
        elif key is None:
            out[name] = _notebook_value(name, value, origin, notebook, extra)
        elif value is not None and value != "":
            text = _text(key.name, value, origin, key.kind)
            out[key.name] = _rebase(text, base, key.name, origin) if key.kind == "path" else text
    return out


def _text(name: str, value: object, origin: str, kind: str = "str") -> str:
    if not isinstance(value, str):
        hint = ": put it in quotes" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise InputError(f"'{name}' must be {_WORDS.get(kind, 'text (str)')}, not {shown(value)}{hint}", file=origin)
    if len(value) > MAX_TEXT:
        raise InputError(f"'{name}' is longer than {MAX_TEXT} characters", file=origin)
    return value


def _notebook_value(name: str, value: object, origin: str, notebook: bool, extra: tuple[str, ...]) -> object:
    known = user_parameters() if notebook else {}
    if name not in known:
        import difflib

        names = [key.name for key in KEYS] + list(extra) + sorted(known)
        close = difflib.get_close_matches(name[:MAX_SHOWN], names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(f"unknown setting {shown(name)} (known: {', '.join(names)}){hint}", file=origin)
    _check_type(name, value, known[name]["type"], origin)
    return value


def _rebase(path: str, base: Path, name: str = "path", origin: str | None = None) -> str:
    if "\x00" in path:  # no file system takes it; Path would raise ValueError
        raise InputError(f"'{name}': {shown(path)} is not a usable path (it holds a NUL character)", file=origin)
    return str((base / os.path.expanduser(path)).resolve())


def file_layer(path: str | Path, *, notebook: bool = True) -> dict:
    """The settings of a ``--params`` file, paths relative to the file's folder."""
    path = Path(path)
    return layer(read_yaml(path), base=path.resolve().parent, origin=str(path), notebook=notebook)


def command_line_layer(options: dict, parameters: list | tuple = (), *, notebook: bool = True) -> dict:
    """The command line's settings: ``options`` by key name (None: not given) and ``-p NAME VALUE``
    pairs; the name is checked before its value is parsed. Paths relative to the current folder."""
    given = {name: str(value) for name, value in options.items() if value is not None}
    for name, raw in parameters:
        key = BY_NAME.get(name) or BY_NOTEBOOK.get(name)
        if key is not None:
            given[key.name] = raw
            continue
        known = user_parameters() if notebook else {}
        if name not in known:
            _notebook_value(name, None, "command line", notebook, ())
        given[name] = raw if known[name]["type"] == "str" else (parse_yaml(raw, file="command line")
                                                                 if raw.strip() else "")
    return layer(given, base=Path.cwd(), origin="command line", notebook=notebook)


# --- the settings of one run ----------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """The merged settings of one run, with the files it reads resolved once.

    ``values`` holds keys (paths absolute) and notebook parameters by name, later layers winning.
    """

    values: dict = field(default_factory=dict)

    @classmethod
    def from_layers(cls, *layers: dict) -> Settings:
        merged: dict = {}
        for one in layers:
            merged.update(one)
        return cls(merged)

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    def __getitem__(self, name: str):
        return self.values[name]

    def __contains__(self, name: str) -> bool:
        return name in self.values

    @property
    def input(self) -> Path:
        return Path(self.values.get("input") or DEFAULT_INPUT)

    @property
    def bundled_input(self) -> bool:
        """True when the tracker is the bundled D5.1 workbook (REMOBILISE's)."""
        return not self.values.get("input") or Path(self.values["input"]).resolve() == DEFAULT_INPUT.resolve()

    @property
    def partnership(self) -> str | None:
        """As given; REMOBILISE for the bundled data only; else None (unknown)."""
        return self.values.get("partnership") or (DEFAULT_PARTNERSHIP if self.bundled_input else None)

    @property
    def period(self) -> str | None:
        return self.values.get("period") or (DEFAULT_PERIOD if self.bundled_input else None)

    @property
    def sheet(self) -> str | None:
        return self.values.get("sheet") or None

    @cached_property
    def targets(self) -> dict[str, int]:
        """The targets this run reports against ({} for none), resolved once."""
        return targets_for(self.partnership, self.values.get("targets"))

    @property
    def targets_file(self) -> Path | None:
        """The file the targets come from, or None when there are none."""
        return targets_file_for(self.partnership, self.values.get("targets"))

    def targets_note(self) -> str | None:
        """What to tell the user when there are no targets, else None."""
        if self.targets_file is not None:
            return None
        if self.partnership is None:
            return (f"no --partnership for {self.input.name}: no targets shown (the bundled targets are "
                    f"{DEFAULT_PARTNERSHIP}'s; give --targets FILE)")
        return f"no targets file for {self.partnership} (--targets): no targets shown"

    @property
    def register(self) -> Path:
        return Path(self.values.get("register") or DEFAULT_REGISTER)

    @property
    def deliverable(self) -> Path | None:
        """The deliverable-metadata file given, or None (the bundled one, used only where it applies)."""
        return Path(self.values["deliverable"]) if self.values.get("deliverable") else None

    @property
    def out(self) -> Path | None:
        return Path(self.values["out"]) if self.values.get("out") else None

    def with_report_names(self) -> Settings:
        """The settings with a partnership and period for a report: as given, else REMOBILISE's
        defaults, with a warning when the tracker is not the bundled one (kpis and clean show no
        targets there; a report keeps its documented default)."""
        missing = [name for name in ("partnership", "period") if getattr(self, name) is None]
        if not missing:
            return self
        import logging

        logging.getLogger("cxc_analysis").warning(
            f"note: no --{' or --'.join(missing)} for {self.input.name}: the report uses "
            + " and ".join({"partnership": DEFAULT_PARTNERSHIP, "period": DEFAULT_PERIOD}[m] for m in missing)
            + "; name them for another partnership's tracker")
        return Settings({**self.values, **{m: {"partnership": DEFAULT_PARTNERSHIP, "period": DEFAULT_PERIOD}[m]
                                           for m in missing}})

    def require_names(self) -> Settings:
        """The settings, or InputError when a report would not know whose data it shows."""
        missing = [name for name in ("partnership", "period") if getattr(self, name) is None]
        if missing:
            raise InputError(f"name the {' and '.join(missing)} of this tracker ("
                             + ", ".join(f"--{m}" for m in missing) + f" or in the settings file): "
                             f"{DEFAULT_PARTNERSHIP} and {DEFAULT_PERIOD} are the defaults for the bundled data only",
                             file=self.input)
        return self

    def notebook_values(self) -> dict:
        """The notebook parameters of this run: keys under their notebook names, files resolved."""
        out = {name: value for name, value in self.values.items() if name not in BY_NAME and name not in RUN_ONLY}
        resolved = {"input": str(self.input), "sheet": self.sheet or "", "targets": str(self.targets_file or ""),
                    "register": str(self.register), "partnership": self.partnership or "",
                    "period": self.period or ""}
        out.update({key.notebook: resolved.get(key.name, self.values.get(key.name, ""))
                    for key in KEYS if key.notebook})
        return out

    def source_facts(self) -> dict:
        """Whose data a processed folder holds, for its source.json."""
        return {"partnership": self.partnership, "period": self.period,
                "targets": ({"file": str(self.targets_file), "values": self.targets}
                            if self.targets_file is not None else None)}


def read_runs(path: str | Path) -> tuple[list[Settings], Path | None]:
    """The runs of a run file as settings (paths relative to the file's folder) and the file's
    ``out``; InputError naming the run and key when unusable."""
    from cxc_analysis.report.settings import layer

    path = Path(path)
    data = check_keys(read_yaml(path), FILE_KEYS["run file"][""], file=path)
    runs = data.get("runs")
    if not isinstance(runs, list) or not runs:
        raise InputError("expected a list 'runs' with one entry per partnership", file=path)
    base = path.resolve().parent
    top = layer({k: v for k, v in data.items() if k == "out"}, base=base, origin=str(path))
    names, resolved = set(), []
    for number, run in enumerate(runs, start=1):
        if not isinstance(run, dict):
            raise InputError(f"run {number} must be a mapping of settings", file=path)
        settings = Settings.from_layers(layer(run, base=base, origin=f"{path}: run {number}", extra=RUN_ONLY))
        if settings.get("out"):
            raise InputError(f"run {number}: 'out' belongs to the whole run file (each run gets a folder in it)",
                             file=path)
        if not settings.get("partnership"):
            raise InputError(f"run {number}: 'partnership' is missing (every report names its partnership)",
                             file=path)
        name = _folder_name(str(settings.get("name") or settings.partnership))
        if name in names:
            raise InputError(f"run {number}: name '{name}' is used twice", file=path)
        names.add(name)
        resolved.append(Settings.from_layers(settings.values, {"name": name}))
    return resolved, Path(top["out"]) if top.get("out") else None


def _folder_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "run"
