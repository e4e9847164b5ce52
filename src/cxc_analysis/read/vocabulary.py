"""The vocabulary a tracker is read with: which header means which field, which label which code,
in the partners' languages. The words live in ``vocabulary.yaml`` (package data, documented
there); a user extends them with a file of the same shape (``--vocabulary FILE``).

A header is read by meaning, not by a list of exact names: its words say whose column it is
(host or visitor, wherever the qualifier stands) and what it holds (a type, a country, a date).

>>> v = load_vocabulary()
>>> [v.field_for(h) for h in ("Type of entity (VO)", "VO Type of entity", "Organisation d'accueil", "Kategorie")]
['vo_entity_type', 'vo_entity_type', 'host_org', 'vo_entity_type']
>>> v.label("vo_entity_type", "KMU"), v.label("partnership", "Hors partenariat"), v.status("Abgeschlossen, ohne IT-Tool")
('sme', 'outside', 'completed')
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.schema import STATUS_VALUES, TRACKER_FIELDS
from cxc_analysis.core.text import key as _text_key
from cxc_analysis.core.text import keys
from cxc_analysis.core.yamlfile import check_keys
from cxc_analysis.read.country_names import country_name_keys, iso_codes, standard_country

SECTIONS = ("stopwords", "compounds", "roles", "concepts", "fields", "labels", "without_it_tool",
            "lump_sum_not_used", "status_heads", "countries")
SECTION_KEYS = {"fields": ("role", "concepts"), "without_it_tool": ("without", "tool"),
                "lump_sum_not_used": ("negation", "lump_sum")}  # the keys inside a field and these sections
NOISE = "noise"
ROLES = ("host", "visitor")
CONJUNCTIONS = {"but", "mais", "aber", "pero", "ma", "maar", "mas", "however", "yet", "though", "and", "et", "und",
                "y", "e", "en"}
WINDOW = 4  # words between "without" and "tool"
STRONG_NEGATIONS = {"not", "nicht", "niet", "non", "pas", "nao", "never", "nunca", "jamais"}
BUNDLED = "vocabulary.yaml (bundled)"  # how messages name the bundled vocabulary
_NUMBER_SIGNS = re.compile(r"#|№|\bn[°º]|\bn\.º")
_BRACKETS = re.compile(r"\(([^()]*)\)")
MAX_REMEMBERED = 200_000  # header texts a vocabulary remembers the field of (then it starts afresh)


_KEYS: dict[str, str] = {}  # text -> text.key(text) for the vocabulary's own words (bounded)
_BATCH: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("cxc_vocabulary_batch", default={})


def key(text: object) -> str:
    """``text.key``, remembered: the vocabulary's words are keyed once per process, in one batch;
    a tracker's texts once per ``Vocabulary.each`` call, in one batch."""
    if not isinstance(text, str):
        return _text_key(text)
    found = _KEYS.get(text)
    if found is None:
        found = _BATCH.get().get(text)
    return found if found is not None else _text_key(text)


@contextlib.contextmanager
def _keyed_headers(headers: list[str]):
    """Within this block, ``header_words`` of these headers finds their keys made in one vectorised call."""
    numbered = [_NUMBER_SIGNS.sub(" number ", str(h)) for h in headers]
    token = _BATCH.set(dict(zip(numbered, (k or "" for k in keys(numbered)))) if numbered else {})
    try:
        yield
    finally:
        _BATCH.reset(token)


def _likeness(words: set[str], names: list[str], floor: float = 0.6) -> dict[str, float]:
    """For each word, the best difflib ratio to any of ``names`` (0.0 when none is over ``floor``);
    the cheap upper bounds rule most pairs out before the ratio itself is computed."""
    best = dict.fromkeys(words, 0.0)
    letters = {word: frozenset(word) for word in best}
    matcher = difflib.SequenceMatcher(None)
    for name in names:
        matcher.set_seq2(name)
        shared = frozenset(name)
        for word in best:
            if letters[word].isdisjoint(shared):  # nothing in common: ratio 0
                continue
            matcher.set_seq1(word)
            bar = max(best[word], floor)
            if matcher.real_quick_ratio() > bar and matcher.quick_ratio() > bar:
                best[word] = max(best[word], matcher.ratio())
    return best


def _key_all(texts: list[str]) -> None:
    """Key many texts in one vectorised call (loading a vocabulary file keys ~1,500 words)."""
    todo = sorted({t for t in texts if t not in _KEYS})
    if todo:
        _KEYS.update(zip(todo, (k or "" for k in keys(todo))))


def _strings(value: object) -> list[str]:
    """Every string (and mapping key) in a parsed YAML document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@dataclass
class Vocabulary:
    """Lookups built from one or more vocabulary files (see vocabulary.yaml)."""

    words: dict[str, str] = field(default_factory=dict)  # word key -> "stop", "role:host", "concept:type" ...
    compounds: dict[str, list[str]] = field(default_factory=dict)
    fields: dict[str, tuple[frozenset, tuple[frozenset, ...]]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> label key -> code
    without: set[str] = field(default_factory=set)
    tools: set[str] = field(default_factory=set)
    negations: set[str] = field(default_factory=set)
    lump_sums: set[str] = field(default_factory=set)
    status_heads: dict[str, str] = field(default_factory=dict)  # label key of a status's first words -> code
    countries: dict[str, str] = field(default_factory=dict)  # country key (read.country_names.country_name_keys) -> ISO code
    sources: tuple[str, ...] = ()
    header_fields: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)  # text -> field

    def each(self, method, texts, *, needs: set[str] | None = None, otherwise=None) -> list:
        """``method`` (e.g. ``self.status``) on many texts, keyed in one vectorised call. With
        ``needs``, only texts holding one of those words are looked at (the rest get
        ``otherwise``): free-text remarks, distinct on every row, cost an Arrow scan, not Python.

        >>> load_vocabulary().each(load_vocabulary().status, ["Terminé", "Lost"])
        ['completed', None]
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(texts, pd.Series):
            strings = pa.array(texts.astype("object").where(texts.notna(), None), type=pa.string())
        else:
            strings = pa.array([t if isinstance(t, str) else None for t in texts], type=pa.string())
        wanted = np.ones(len(strings), dtype=bool)
        if needs is not None:  # an ASCII text without any of the words cannot say it: no need to key it
            pattern = "(?i)(?:" + "|".join(sorted(re.escape(w) for w in needs)) + ")"
            maybe = pc.or_(pc.invert(pc.string_is_ascii(strings)), pc.match_substring_regex(strings, pattern))
            wanted = pc.fill_null(maybe, False).to_numpy(zero_copy_only=False)
        chosen = pc.filter(strings, pa.array(wanted)).to_pylist()
        keyed = keys(chosen) if chosen else np.array([], dtype=object)
        if needs is not None and chosen:
            pattern = r"\b(?:" + "|".join(sorted(re.escape(w) for w in needs)) + r")\b"
            hit = pc.fill_null(pc.match_substring_regex(pa.array(keyed, type=pa.string()), pattern), False)
            hit = hit.to_numpy(zero_copy_only=False)
            chosen, keyed = [t for t, h in zip(chosen, hit) if h], keyed[hit]
            wanted[np.flatnonzero(wanted)[~hit]] = False
        batch = {t: k or "" for t, k in zip(chosen, keyed) if isinstance(t, str)}
        extra = [t for t in set(batch) if "(" in t]  # the parts a bracketed remark is read in
        parts = [p for t in extra for p in (_BRACKETS.sub(" ", t), " ".join(_BRACKETS.findall(t)))]
        batch.update(zip(parts, (k or "" for k in keys(parts))) if parts else {})
        out = np.full(len(strings), otherwise, dtype=object)
        token = _BATCH.set(batch)
        try:
            out[wanted] = [method(t) for t in chosen] if chosen else []
        finally:
            _BATCH.reset(token)
        return out.tolist()

    # --- headers --------------------------------------------------------------------------

    def header_words(self, header: object) -> list[str]:
        """The words of a header as keys, compounds split ("Gastorganisation" -> host organisation)."""
        text = _NUMBER_SIGNS.sub(" number ", str(header))
        out = []
        for word in key(text).split():
            out.extend(self.compounds.get(word, [word]))
        return out

    def reading(self, header: object) -> tuple[frozenset, frozenset] | None:
        """(roles, concepts) a header speaks of; None if a word is unknown."""
        roles, concepts = set(), set()
        for word in self.header_words(header):
            meaning = self.words.get(word)
            if meaning is None:
                return None
            kind, _, name = meaning.partition(":")
            if kind == "role":
                roles.add(name)
            elif kind == "concept":
                concepts.add(name)
        return frozenset(roles), frozenset(concepts)

    def field_for(self, header: object) -> str | None:
        """The canonical field a header names, or None.

        >>> load_vocabulary().field_for("Name of the visiting organisation")
        'visiting_org'
        """
        if header is None:
            return None
        return self.fields_for([str(header)])[0]

    def fields_for(self, headers: list[str]) -> list[str | None]:
        """``field_for`` over many header texts: each distinct text read once per vocabulary (and
        remembered), the new ones keyed in one vectorised call, so a row of 50,000 headers costs
        one Arrow pass and a dictionary lookup per cell.

        >>> load_vocabulary().fields_for(["HO", "Notes", "HO", "Spalte 7"])
        ['host_org', 'remarks', 'host_org', None]
        """
        remembered = self.header_fields
        distinct = {t for t in headers if isinstance(t, str)}
        known = {t: remembered[t] for t in distinct if t in remembered}
        todo = sorted(distinct - known.keys())
        if todo:
            with _keyed_headers(todo):
                new = {t: self._field_of(t) for t in todo}
            if len(remembered) + len(new) > MAX_REMEMBERED:
                remembered.clear()
            if len(new) <= MAX_REMEMBERED:
                remembered.update(new)
            known.update(new)
        return [known.get(t) if isinstance(t, str) else None for t in headers]

    def _field_of(self, header: str) -> str | None:
        """The field one header text names (its words keyed already, see ``fields_for``)."""
        if not header.strip():
            return None
        read = self.reading(header)
        if read is None:
            return None
        roles, concepts = read
        if len(roles) > 1:
            return None  # "HO/VO ...": whose?
        role = next(iter(roles), "none")
        meaningful = concepts - {NOISE}
        for name, (allowed_roles, sets) in self.fields.items():
            if role in allowed_roles and meaningful in sets:
                return name
        return None

    def closest(self, headers: list[str], wanted: str) -> str | None:
        """The header most like the names of field ``wanted`` (for "did you mean"), if any is close:
        the first of those whose words come closest (difflib ratio over 0.6). Each distinct word is
        compared once, so a row of 50,000 headers costs a pass over its distinct words.

        >>> load_vocabulary().closest(["Remarks", "Date", "Stauts"], "status")
        'Stauts'
        """
        allowed_roles, sets = self.fields[wanted]
        meanings = {c for s in sets for c in s} | set(allowed_roles)
        names = sorted({w for w, m in self.words.items() if m.partition(":")[2] in meanings} | {key(wanted)})
        with _keyed_headers(headers):
            words = [self.header_words(header) or [key(header)] for header in headers]
        likeness = _likeness({w for some in words for w in some}, names)
        best, score = None, 0.6
        for header, some in zip(headers, words):
            ratio = max(likeness[w] for w in some)
            if ratio > score:
                best, score = header, ratio
        return best

    # --- labels ---------------------------------------------------------------------------

    def label_key(self, text: object) -> str:
        """A label as the vocabulary compares it: ``text.key`` without stopwords ("within the
        partnership" = "within partnership"), unless only stopwords are left ("in")."""
        words = key(text).split()
        kept = [w for w in words if self.words.get(w) != "stop"]
        return " ".join(kept or words)

    def label(self, field_name: str, text: object) -> str | None:
        """The code of a label ("KMU" -> sme), or None when the vocabulary does not know it.
        A remark in brackets is read only when the rest alone is not a label: "Organisation de
        soutien à la croissance (scale-up)" is a scaling-up support organisation, but "SME
        (large company)" says two things and is unknown.

        >>> v = load_vocabulary()
        >>> v.label("vo_entity_type", "Organisation de soutien à la croissance (scale-up)"), v.label("vo_entity_type", "SME (large company)")
        ('scaling_up_support_organisation', None)
        """
        if text is None:
            return None
        table = self.labels.get(field_name, {})
        found = table.get(self.label_key(text))
        if found is None and "(" in str(text):
            outside = _BRACKETS.sub(" ", str(text))
            inside = " ".join(_BRACKETS.findall(str(text)))
            base, aside = table.get(self.label_key(outside)), table.get(self.label_key(inside))
            found = base if aside in (None, base) else None
        return found

    def status(self, text: object) -> str | None:
        """completed / pending / cancelled for a status text, also with a "without the IT tool"
        clause, or starting with words that decide it (``status_heads``: "Waiting for ...",
        "In attesa ...", "Completed (late)") when nothing after them names another status or says not.

        >>> v = load_vocabulary()
        >>> v.status("Completed, but without the IT tool"), v.status("Terminé mais sans l'outil informatique")
        ('completed', 'completed')
        >>> v.status("En attente du rapport final"), v.status("Lost"), v.status("Completed (late)")
        ('pending', None, 'completed')
        >>> v.status("In attesa report finale"), v.status("Annullato"), v.status("Completed, then cancelled")
        ('pending', 'cancelled', None)
        """
        if text is None:
            return None
        statuses = self.labels.get("status", {})
        words = self.label_key(text).split()
        found = statuses.get(" ".join(words))
        if found is None:
            start = self._without_at(words)
            if start is not None:
                words = words[:start]
                while words and words[-1] in CONJUNCTIONS:
                    words.pop()
                found = statuses.get(" ".join(words))
        return found if found is not None else self._status_head(words)

    def _status_head(self, words: list[str]) -> str | None:
        """The status the first words of a status say (longest ``status_heads`` entry first); None
        when none does, or when a later word starts another status or is a negation ("not")."""
        for n in range(len(words), 0, -1):
            code = self.status_heads.get(" ".join(words[:n]))
            if code is None:
                continue
            rest = words[n:]
            others = {self.status_heads.get(w) for w in rest} - {None, code}
            return None if others or any(w in STRONG_NEGATIONS for w in rest) else code
        return None

    def _without_at(self, words: list[str]) -> int | None:
        """Where a "without the IT tool" clause starts in ``words``, or None."""
        for i, word in enumerate(words):
            if word in self.without and any(w in self.tools for w in words[i + 1:i + 1 + WINDOW]):
                return i
            if word in self.tools and i + 1 < len(words) and words[i + 1] in STRONG_NEGATIONS:
                start = i
                while start > 0 and words[start - 1] in ("it", "the", "l", "lo", "la", "le", "de", "das", "het"):
                    start -= 1
                return start
        return None

    def says_without_it_tool(self, text: object) -> bool:
        """Does a status or remark say the IT tool was not used?

        >>> v = load_vocabulary()
        >>> v.says_without_it_tool("Established without IT tool"), v.says_without_it_tool("ohne IT-Tool")
        (True, True)
        >>> v.says_without_it_tool("Completed with the IT tool, no remarks")
        False
        """
        return text is not None and self._without_at(key(text).split()) is not None

    def says_lump_sum_not_used(self, text: object) -> bool:
        """Does a remark say the lump sum was not used?

        >>> v = load_vocabulary()
        >>> v.says_lump_sum_not_used("has not made use of the lump sum"), v.says_lump_sum_not_used("Lump sum paid, no issues")
        (True, False)
        >>> v.says_lump_sum_not_used("Pauschale nicht in Anspruch genommen")
        True
        """
        if text is None:
            return False
        words = key(text).split()
        for i, word in enumerate(words):
            if word in self.lump_sums:
                if any(w in self.negations for w in words[:i]) or any(w in STRONG_NEGATIONS for w in words[i + 1:]):
                    return True
        return False


# --- reading vocabulary files ---------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def load_vocabulary(extra: str | Path | None = None) -> Vocabulary:
    """The bundled vocabulary, extended by ``extra`` (a file of the same shape) if given.
    Refuses (InputError) a file whose words contradict each other or the bundled ones."""
    import yaml

    bundled = resources.files("cxc_analysis").joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    vocabulary = Vocabulary()
    _add(vocabulary, yaml.load(bundled, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), BUNDLED)
    if extra:
        from cxc_analysis.core.yamlfile import read_yaml

        path = Path(extra)
        _add(vocabulary, read_yaml(path), str(path))
    return vocabulary


def _entries(value: object, where: str) -> list[str]:
    """A list of words, from a list or a mapping of language -> list."""
    if isinstance(value, dict):
        out = []
        for language, words in value.items():
            out.extend(_entries(words, f"{where}.{language}"))
        return out
    if isinstance(value, list) and all(isinstance(w, str) for w in value):
        return value
    if isinstance(value, list):
        odd = next(w for w in value if not isinstance(w, str))
        raise ValueError(f"{where}: {str(odd)[:40]!r} is not a word (write words such as no, yes, on in quotes)")
    raise ValueError(f"{where}: expected a list of words")


def _add(v: Vocabulary, data: object, source: str) -> None:
    try:
        _merge(v, data if data is not None else {}, source)
        v.header_fields.clear()  # its words changed: what a header means may have too
    except ValueError as exc:
        raise InputError(f"not a usable vocabulary: {exc}", file=source) from None
    v.sources = (*v.sources, source)


def _merge(v: Vocabulary, data: object, source: str) -> None:
    if not isinstance(data, dict):
        raise ValueError("expected a mapping with any of: " + ", ".join(SECTIONS))
    _check_keys(data, source)
    _key_all(_strings(data))

    def define(word: str, meaning: str, where: str) -> None:
        for part in key(word).split():
            known = v.words.get(part)
            if known is not None and known != meaning and "stop" not in (known, meaning):
                raise ValueError(f"{where}: '{part}' means both {known} and {meaning}")
            if known is None or known == "stop":
                v.words[part] = meaning

    for word in _entries(data.get("stopwords", {}), "stopwords"):
        for part in key(word).split():
            v.words.setdefault(part, "stop")
    for where, table in _sections(data.get("compounds", {}), "compounds"):
        for word, meaning in table.items():
            v.compounds[key(word)] = key(meaning).split()
    for role, words in _sections(data.get("roles", {}), "roles"):
        if role not in ROLES:
            raise ValueError(f"roles: unknown role '{role}' (known: host, visitor)")
        for word in _entries(words, f"roles.{role}"):
            define(word, f"role:{role}", f"roles.{role}")
    for concept, words in _sections(data.get("concepts", {}), "concepts"):
        for word in _entries(words, f"concepts.{concept}"):
            define(word, f"concept:{concept}", f"concepts.{concept}")
    for name, spec in _sections(data.get("fields", {}), "fields"):
        if not isinstance(spec, dict):
            raise ValueError(f"fields.{name}: expected role and concepts")
        roles = spec.get("role", "none")
        roles = frozenset(roles if isinstance(roles, list) else [roles])
        sets = tuple(frozenset(s) for s in spec.get("concepts", []))
        old_roles, old_sets = v.fields.get(name, (frozenset(), ()))
        v.fields[name] = (old_roles | roles, old_sets + sets)
    for name, codes in _sections(data.get("labels", {}), "labels"):
        table = v.labels.setdefault(name, {})
        for code, words in _sections(codes, f"labels.{name}"):
            for word in (code, *_entries(words, f"labels.{name}.{code}")):
                label = v.label_key(word)
                if table.get(label, code) != code:
                    raise ValueError(f"labels.{name}: '{word}' means both {table[label]} and {code}")
                table[label] = code
    phrases = data.get("without_it_tool", {})
    if phrases:
        v.without |= {key(w) for w in _entries(phrases.get("without", []), "without_it_tool.without")}
        v.tools |= {key(w) for w in _entries(phrases.get("tool", []), "without_it_tool.tool")}
    lump = data.get("lump_sum_not_used", {})
    if lump:
        v.negations |= {key(w) for w in _entries(lump.get("negation", []), "lump_sum_not_used.negation")}
        v.lump_sums |= {key(w) for w in _entries(lump.get("lump_sum", []), "lump_sum_not_used.lump_sum")}
    for code, words in _sections(data.get("status_heads", {}), "status_heads"):
        if code not in STATUS_VALUES:
            raise ValueError(f"status_heads: unknown status '{code[:40]}' (known: {', '.join(STATUS_VALUES)})")
        for word in _entries(words, f"status_heads.{code}"):
            head = v.label_key(word)
            if v.status_heads.get(head, code) != code:
                raise ValueError(f"status_heads: '{word}' means both {v.status_heads[head]} and {code}")
            v.status_heads[head] = code
    _merge_countries(v, data.get("countries", {}), check=source != BUNDLED)


def _merge_countries(v: Vocabulary, section: object, check: bool = True) -> None:
    """The ``countries:`` section: ISO alpha-2 code -> names (a list, or lists per language).
    A name that already means another country (an earlier entry and, with ``check``, an ISO code
    or a CLDR or GeoNames name) is refused; a name CLDR gives two countries may be settled here.
    The bundled file is read without ``check`` (tests/read/test_countries.py checks it once)."""

    entries = []
    for code, words in _sections(section, "countries"):
        if code not in iso_codes():
            raise ValueError(f"countries: '{code[:20]}' is not an ISO 3166 alpha-2 code (e.g. IT, PL, GR)")
        entries += [(code, name) for name in _entries(words, f"countries.{code}")]
    for (code, name), name_keys in zip(entries, country_name_keys([name for _, name in entries])):
        if not name_keys:
            raise ValueError(f"countries.{code}: '{name[:40]}' has no letters to read")
        for name_key in name_keys:
            means = v.countries.get(name_key) or (standard_country(name_key) if check else None)
            if means not in (None, code):
                raise ValueError(f"countries.{code}: '{name}' already means {means}")
            v.countries[name_key] = code


def _check_keys(data: dict, source: str) -> None:
    """InputError naming the first unknown section, field or key of a vocabulary file (``check_keys``)."""

    check_keys(data, SECTIONS, file=source, what="section")
    for section in ("fields", "labels"):
        if isinstance(data.get(section), dict):
            check_keys(data[section], TRACKER_FIELDS, file=source, where=section, what="field")
    fields = data.get("fields")
    for name, spec in fields.items() if isinstance(fields, dict) else ():
        if isinstance(spec, dict):
            check_keys(spec, SECTION_KEYS["fields"], file=source, where=f"fields.{name}")
    for section in ("without_it_tool", "lump_sum_not_used"):
        if isinstance(data.get(section), dict):
            check_keys(data[section], SECTION_KEYS[section], file=source, where=section)


def _sections(value: object, where: str):
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a mapping")
    return [(str(k), v) for k, v in value.items()]
