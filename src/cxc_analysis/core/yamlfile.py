"""Settings files read safely: YAML with size and nesting limits ("billion laughs"), and a user's
value quoted short in a message. Every settings, targets, vocabulary and rule-set file is read here."""

from __future__ import annotations

from pathlib import Path

from cxc_analysis.core.errors import InputError

MAX_SHOWN = 60  # characters of a user's value quoted in a message
MAX_NODES = 100_000  # values a settings file may hold, aliases expanded ("billion laughs")
MAX_DEPTH = 50  # nesting levels a settings file may have


def shown(value: object) -> str:
    """A user's value as a message quotes it: scalars shortened, anything else by its type only,
    so a huge or self-referencing value is never formatted.

    >>> shown("x" * 100)[-4:], shown([1, 2]), shown(3)
    ("xx…'", 'a list', '3')
    """
    if isinstance(value, str):
        return repr(value[:MAX_SHOWN] + "…") if len(value) > MAX_SHOWN else repr(value)
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value) if not isinstance(value, int) or abs(value) < 10 ** MAX_SHOWN else "a huge number"
        return text[:MAX_SHOWN]
    return {dict: "a mapping", list: "a list"}.get(type(value), f"a {type(value).__name__}")


def check_size(data: object, *, file: str | Path | None) -> object:
    """Refuse a loaded YAML document with more than MAX_NODES values (aliases counted every time
    they are used) or more than MAX_DEPTH levels, before anything walks or formats it.

    >>> check_size({"a": [1, 2]}, file=None)
    {'a': [1, 2]}
    """
    count, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise InputError(f"too large or too deeply nested for a settings file (over {MAX_NODES} values or "
                             f"{MAX_DEPTH} levels, aliases counted each time they are used)", file=file)
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return data


def read_yaml(path: str | Path) -> dict:
    """A YAML mapping from a small settings file; InputError if missing, not YAML, not a mapping,
    too large or too deeply nested."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", file=path)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), file=path)
    except UnicodeDecodeError:
        raise InputError("not valid YAML (not UTF-8 text)", file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML ({getattr(exc, 'problem', None) or _reason(exc)})", file=path,
                         row=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping of names to values", file=path)
    return data


def parse_yaml(text: str, *, file: str | Path | None = None) -> object:
    """``yaml.safe_load`` with its size checked (``check_size``) and deep nesting refused."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise InputError(f"nested too deeply for a settings file (over {MAX_DEPTH} levels)", file=file) from None
    return check_size(data, file=file)


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


# The keys each kind of file may hold, by where they stand in it ("" is the top level): adding a
# key is one more name on its line. Keys that are names of things (KPI names under ``targets``,
# a rule set's rules and limits, a vocabulary's sections) are checked against those names where
# they are declared (schema.KPI_NAMES, rules.LIMITS, vocabulary.SECTIONS).
FILE_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "targets": {"": ("partnership", "targets", "project", "budget_eur"),
                "project": ("start", "end", "source")},
    "deliverable": {"": ("title", "deliverable", "funding", "disclaimer", "sections", "activities",
                         "activity_targets", "partners"),
                    "section": ("file", "after", "show"),
                    "partner": ("name", "country", "description"),
                    "deliverable": ("grant_agreement", "acronym", "full_title", "project_url", "period",
                                    "deliverable_number", "deliverable_title", "work_package", "contractual_date",
                                    "actual_date", "status", "nature", "dissemination_level", "authors",
                                    "responsible_author", "contributors", "reviewers", "abstract")},
    "rule set": {"": ("name", "programme", "period", "sources", "rules", "countries"),
                 "period": ("first_year", "last_year", "source"),
                 "limit": ("value", "source", "note", "other", "applied"),
                 "country": ("code", "name", "joined", "source", "note")},
    "run file": {"": ("out", "runs")},
}



def check_keys(data: dict, known, *, file: str | Path | None, where: str = "", what: str = "key") -> dict:
    """``data``, or InputError naming the first key not in ``known`` (and the known key it is
    most like): a misspelt key is never ignored without a word. ``where`` names the place in
    the file (``deliverable``, ``rules.distance``), ``what`` what its keys are (``key``, ``target``).

    >>> check_keys({"title": "T"}, FILE_KEYS["deliverable"][""], file="d.yaml")
    {'title': 'T'}
    >>> check_keys({"deliverable_titel": "T"}, FILE_KEYS["deliverable"]["deliverable"], file="d.yaml",
    ...            where="deliverable")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    cxc_analysis.core.errors.InputError: d.yaml: unknown key 'deliverable_titel' in deliverable; did you mean 'deliverable_title'? (known: ...)
    """
    import difflib

    known = list(known)
    for name in data:
        if name not in known:
            text = str(name) if isinstance(name, (str, int, float, bool)) or name is None else shown(name)
            close = difflib.get_close_matches(text[:MAX_SHOWN], known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InputError(f"unknown {what} {shown(text)}" + (f" in {where}" if where else "")
                             + f"{hint} (known: {', '.join(known)})", file=file)
    return data
