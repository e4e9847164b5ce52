"""Which single-byte code page a CSV that is not UTF-8 was saved in, decided by evidence.

Excel and older tools save CSV files in the computer's code page: Windows-1252 in Western
Europe, Windows-1250 (or ISO-8859-2) in Poland, Czechia, Hungary, Croatia, Mac Roman on old
Macs, DOS code page 850 from older programs, Windows-1257 in the Baltic states, Windows-1251/1253
for Cyrillic and Greek. The same bytes read in another code page give names like "Klaster £ódŸ"
or "Plzeò", which are valid text: so each candidate code page is judged by the words it makes.

- Every byte of the file must be a character of the code page (a byte count over the whole
  file; C1 control codes count as no character).
- The words holding non-ASCII bytes are sampled (bounded: the first ones, plus one word for
  every byte value that occurs only later) and each decoded word is judged: letters only (an
  apostrophe or dash between letters, "·" in "l·l", a quote or "Nº", "°" at its edge, a usual
  symbol such as "€" alone), one script,
  a plausible case pattern ("SociŽtŽ" is not), and its accented letters all from one
  language's alphabet ("Dìèín" is no language's word).
- The code page with the fewest implausible words wins; between equals, the one whose words
  need the fewest languages. Code pages that read every sampled word alike are one reading.
  Where two readings stay equal, or the best still garbles words, the file is refused
  (``InputError``, exit code 2) naming the candidates and a word in each reading.
- One accented word is evidence enough only for Windows-1252, the code page of Western European
  Excel: any other needs ``MIN_WORDS`` words it reads as words ("M", byte 0x81, "ller" alone is
  "Müller" in DOS 850, but also what a stray byte makes of "Muller").

``charset_normalizer`` (a maintained detector) is asked as a second opinion between the readings
that stay equal: when its mess measure clearly prefers one, that one is read.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import NamedTuple

import numpy as np

# The code pages tried, in the order used to name a reading that several of them give alike.
CODE_PAGES = {
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "iso8859_2": "ISO-8859-2 (Central European)",
    "mac_roman": "Mac Roman",
    "cp850": "DOS code page 850",
    "cp852": "DOS code page 852 (Central European)",
    "cp1257": "Windows-1257 (Baltic)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)",
}

# The accented letters of the alphabets of the languages partners write names in (lower case).
ALPHABETS = {
    "German": "äöüß", "French": "àâæçéèêëîïôœùûüÿ", "Italian": "àèéìòóù", "Spanish": "áéíñóúü",
    "Portuguese": "áâãàçéêíóôõú", "Catalan": "àçèéíïòóúü", "Dutch": "áäèéëíïóöü", "Danish": "æøåé",
    "Swedish": "åäöé", "Finnish": "äöåšž", "Icelandic": "áðéíóúýþæö", "Polish": "ąćęłńóśźż",
    "Czech": "áčďéěíňóřšťúůýž", "Slovak": "áäčďéíĺľňóôŕšťúýž", "Hungarian": "áéíóöőúüű",
    "Croatian": "čćđšž", "Slovenian": "čšž", "Romanian": "ăâîșşțţ", "Estonian": "äõöüšž",
    "Latvian": "āčēģīķļņšūž", "Lithuanian": "ąčęėįšųūž", "Turkish": "çğıöşüâî", "Albanian": "çë",
    "Irish": "áéíóú", "Welsh": "âêîôûŵŷáéíóú", "Luxembourgish": "äéë", "Maltese": "ċġħżàèìòù",
}
WORD_FINAL_ONLY = "ìù"  # Italian's (and French "où"): never inside a word
INNER_MARKS = "’'‘"  # between two letters of a word (d’Industria), as dashes are (Nord–Sud), and "·" in "l·l"
EDGE_MARKS = "ºª²³°®™©€£¡¿"  # may touch a word's letters at its edge: Nº, m², °C, Brand™, ¿Qué
ONE_LETTER_WORDS = "àáèéíóòúùåäöôÅÖ"  # words of one accented letter (French à, Italian è, the Swedish place Å)
# Symbols a tracker's cell may hold on their own ("1 500 €", "A – B"); others alone (░, ∞, ◊) are
# what a wrong code page makes of a letter or a common symbol.
SYMBOLS = "€£$¥°ºª–—‒’‘‚“”„«»‹›•…·×÷½¼¾©®™§¶±²³¹¡¿¦¬¢µ†‰"
MIN_WORDS = 2  # words with accented letters that a code page other than Windows-1252 must read as words
SAMPLE_WORDS = 4000  # distinct words judged at most (plus one per later byte value)
HEAD_SAMPLE = 1 << 18  # bytes whose non-ASCII words are all sampled
_WORD = re.compile(rb"[A-Za-z]*[\x80-\xff][A-Za-z\x80-\xff]*")
_ASCII_LETTER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class Reading(NamedTuple):
    """How the sampled words read in one code page: how many are implausible, how many
    languages the plausible ones need, the words themselves."""

    encoding: str
    implausible: int
    languages: int
    words: tuple[str, ...]


class Verdict(NamedTuple):
    """The code page to read (None: none is certain), the readings that stay equal (best first),
    the sampled byte words (for messages), and whether the best reading was refused only for
    lack of evidence (``few``)."""

    encoding: str | None
    readings: list[Reading]
    words: list[bytes]
    few: bool = False


def undefined_bytes(encoding: str) -> frozenset[int]:
    """The byte values that are no text character in ``encoding`` (C1 control codes included).

    >>> sorted(undefined_bytes("cp1252"))
    [129, 141, 143, 144, 157]
    """
    out = set()
    for byte in range(0x80, 0x100):
        try:
            char = bytes([byte]).decode(encoding)
        except UnicodeDecodeError:
            out.add(byte)
            continue
        if unicodedata.category(char) == "Cc":
            out.add(byte)
    return frozenset(out)


_ASCII = bytes(range(0x80))


def byte_counts(data: bytes) -> np.ndarray:
    """Which byte values occur in ``data`` (a boolean per value; ASCII ones are not looked at):
    the ASCII bytes deleted in one C pass, the rest marked in NumPy."""
    present = np.zeros(256, dtype=bool)
    present[np.frombuffer(data.translate(None, _ASCII), dtype=np.uint8)] = True
    return present


def sample_words(data: bytes, counts: np.ndarray) -> list[bytes]:
    """Distinct words (runs of ASCII letters and non-ASCII bytes) holding a non-ASCII byte: those
    of the first ``HEAD_SAMPLE`` bytes (at most ``SAMPLE_WORDS``), then the first word holding
    each byte value the file has and the sample lacks.

    >>> data = b"a,Caf\\xe9,x\\n" + b"y" * 10 + b",\\xa3\\xf3d\\x9f"
    >>> sample_words(data, byte_counts(data))
    [b'Caf\\xe9', b'\\xa3\\xf3d\\x9f']
    """
    words: dict[bytes, None] = {}
    for word in _WORD.findall(data, 0, min(len(data), HEAD_SAMPLE)):
        words.setdefault(word)
        if len(words) >= SAMPLE_WORDS:
            break
    seen = set(b"".join(words))
    for byte in np.flatnonzero(counts):
        if int(byte) not in seen:
            at = data.find(bytes([int(byte)]))
            word = _word_at(data, at, at + 1)
            words.setdefault(word)
            seen.update(word)
    return list(words)


def _word_at(data: bytes, start: int, end: int, reach: int = 64) -> bytes:
    """The word around data[start:end]: extended over ASCII letters and non-ASCII bytes."""
    low, high = start, end
    while low > max(0, start - reach) and (data[low - 1] in _ASCII_LETTER or data[low - 1] >= 0x80):
        low -= 1
    while high < min(len(data), end + reach) and (data[high] in _ASCII_LETTER or data[high] >= 0x80):
        high += 1
    return data[low:high]


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name.startswith(("LATIN", "GREEK", "CYRILLIC")) else "OTHER"


def _is_letter(char: str) -> bool:
    return unicodedata.category(char) in ("Lu", "Ll", "Lt") or (char.isalpha() and _script(char) != "OTHER")


def word_languages(word: str) -> frozenset[str] | None:
    """The languages whose alphabet and habits a decoded word fits (an empty set: fits, but tells
    no language, as ASCII, Greek or Cyrillic words); None when no text is written so.

    >>> sorted(word_languages("Łódź")), word_languages("£ódŸ"), word_languages("MŸller")
    (['Polish'], None, None)
    >>> word_languages("Soci‚t‚"), word_languages("Dìèín"), "French" in word_languages("d’Économie")
    (None, None, True)
    """
    if len(word) == 1 and _is_letter(word) and not word.isascii() and word not in ONE_LETTER_WORDS:
        return None  # "Š" alone is no word (and "©" in ISO-8859-2)
    languages: frozenset[str] | None = None
    for start, run in _runs(word):
        if run is None:
            return None
        fits = _run_languages(run)
        if fits is None:
            return None
        if fits:
            languages = fits if languages is None else languages & fits
            if not languages:
                return None
    return languages if languages is not None else frozenset()


def _runs(word: str):
    """The runs of letters of a word (split at inner apostrophes and dashes); None for a run that
    holds a character no word holds: a symbol inside it or glued to it, a control, a space between
    letters, or an unusual symbol standing alone."""
    if not any(_is_letter(char) for char in word):
        yield 0, ("" if all(char in SYMBOLS for char in word) else None)
        return
    run, last = "", len(word) - 1
    for i, char in enumerate(word):
        if _is_letter(char):
            run += char
            continue
        kind = unicodedata.category(char)
        between = 0 < i < last and _is_letter(word[i - 1]) and _is_letter(word[i + 1])
        edge = i in (0, last) and (kind in ("Pi", "Pf", "Ps", "Pe") or char in EDGE_MARKS)
        catalan = char == "·" and between and word[i - 1] in "lL" and word[i + 1] in "lL"  # Col·legi
        if (between and (char in INNER_MARKS or kind == "Pd")) or catalan or edge:
            yield i, run  # d’Industria, Nord–Sud, «Société», Nº
            run = ""
        else:
            yield i, None
            return
    yield len(word), run


def _run_languages(run: str) -> frozenset[str] | None:
    """Languages of one run of letters (see ``word_languages``)."""
    accented = {c for c in run if not c.isascii()}
    if not accented:
        return frozenset()
    scripts = {_script(c) for c in run}
    if len(scripts) > 1:
        return None
    for i, char in enumerate(run):
        if char.isascii() or not (char.isupper() or char.islower()):
            continue
        before = run[i - 1] if i else ""
        after = run[i + 1] if i + 1 < len(run) else ""
        if char.isupper() and (before.islower() or (before.isupper() and after.islower())):
            return None  # SociŽtŽ, MŸller
        if char.isupper() and not before and after.isupper() and run[2:3].islower():
            return None  # ŤSociété
        if char.islower() and after.isupper():
            return None  # øMalaga
        others = run[:i] + run[i + 1:]
        if char.islower() and char != "ß" and sum(c.isupper() for c in others) >= 2 and not any(
                c.islower() for c in others):
            return None  # MüLLER
        if char in WORD_FINAL_ONLY and after:
            return None
    if scripts != {"LATIN"}:
        return frozenset()
    letters = {c.lower() for c in accented}
    fits = frozenset(name for name, alphabet in ALPHABETS.items() if letters <= set(alphabet))
    return fits or None


def judge(words: list[bytes], encoding: str) -> Reading:
    """How ``words`` read in ``encoding``: implausible words, and the fewest languages that hold
    all plausible ones (a greedy cover)."""
    decoded = tuple(w.decode(encoding, errors="replace") for w in words)
    implausible, needs = 0, []
    for word in decoded:
        fits = word_languages(word)
        if fits is None:
            implausible += 1
        elif fits:
            needs.append(fits)
    return Reading(encoding, implausible, _cover(needs), decoded)


def _cover(needs: list[frozenset[str]]) -> int:
    """How many languages (chosen greedily) hold each word's set of fitting languages."""
    count, left = 0, list(needs)
    while left:
        best, _ = Counter(lang for fits in left for lang in fits).most_common(1)[0]
        left = [fits for fits in left if best not in fits]
        count += 1
    return count


def decide(data: bytes) -> Verdict:
    """The code page of ``data`` (a file that is not UTF-8), decided as the module says.

    >>> decide("Łódź;Plzeň;Győr".encode("cp1250")).encoding
    'cp1250'
    >>> decide("Société;Müller;Málaga".encode("cp850")).encoding
    'cp850'
    """
    counts = byte_counts(data)
    present = set(np.flatnonzero(counts).tolist())
    valid = [enc for enc in CODE_PAGES if not present & undefined_bytes(enc)]
    words = sample_words(data, counts)
    readings: dict[tuple[str, ...], Reading] = {}
    alike: dict[tuple[str, ...], list[str]] = {}
    for encoding in valid:
        reading = judge(words, encoding)
        readings.setdefault(reading.words, reading)  # code pages that read every word alike are one
        alike.setdefault(reading.words, []).append(encoding)
    ranked = sorted(readings.values(), key=lambda r: (r.implausible, r.languages))
    if not ranked:
        return Verdict(None, [], words)
    best = ranked[0]
    equal = [r for r in ranked if (r.implausible, r.languages) == (best.implausible, best.languages)]
    if len(equal) > 1:
        preferred = _second_opinion(words, [r.encoding for r in equal])
        equal = [r for r in equal if r.encoding == preferred] or equal
    if len(equal) > 1 or best.implausible * 20 > len(words):
        return Verdict(None, equal if len(equal) > 1 else ranked[:2], words)
    if "cp1252" not in alike[best.words] and _letter_words(best) < MIN_WORDS:
        return Verdict(None, ranked[:2], words, few=True)
    return Verdict(best.encoding, ranked[:2], words)


def _letter_words(reading: Reading) -> int:
    """How many of a reading's words hold a non-ASCII letter and read as words."""
    return sum(any(not c.isascii() and _is_letter(c) for c in word) and word_languages(word) is not None
               for word in reading.words)


def _second_opinion(words: list[bytes], encodings: list[str]) -> str | None:
    """The code page ``charset_normalizer`` finds clearly least messy for the sampled words
    (its mess ratio at most half the next one's), or None."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a dependency
        return None
    sample = b"\n".join(words)
    results = {m.encoding: m.chaos for m in from_bytes(sample, cp_isolation=encodings, threshold=1.0)}
    scored = sorted((results.get(_cn_name(e), 1.0), e) for e in encodings)
    if len(scored) >= 2 and scored[0][0] * 2 < scored[1][0]:
        return scored[0][1]
    return None


def _cn_name(encoding: str) -> str:
    import codecs

    return codecs.lookup(encoding).name.replace("-", "_")


def describe(verdict: Verdict) -> str:
    """The candidates of an undecided verdict and how a differing word reads in each, for a message.

    >>> describe(Verdict(None, [Reading("cp1250", 0, 1, ("Plzeň",)), Reading("cp1252", 0, 1, ("Plzeò",))], [b"x"]))
    'Windows-1250 (Central European) ("Plzeň") or Windows-1252 (Western European) ("Plzeò")'
    """
    readings = verdict.readings
    if not readings:
        return ""
    differ = _most_differing(readings)
    return " or ".join(f'{CODE_PAGES[r.encoding]} ("{r.words[differ]}")' for r in readings)


def differing_word(verdict: Verdict) -> bytes | None:
    """The sampled byte word the candidate readings read most differently (to find its row)."""
    if not verdict.words:
        return None
    return verdict.words[_most_differing(verdict.readings)] if verdict.readings else verdict.words[0]


def _most_differing(readings: list[Reading]) -> int:
    """The position of the first word read in the most different ways by ``readings``."""
    spread = [len({r.words[i] for r in readings}) for i in range(len(readings[0].words))]
    return int(np.argmax(spread)) if spread else 0
