"""The rules' results as JSON (``check --json`` / ``--jsonl``): written block by block, built in Arrow
kernels, on a background thread while the next block is built."""

from __future__ import annotations

import json

import numpy as np

from cxc_analysis.core.text import replace_where
from cxc_analysis.reference.rulesets import RULES
from cxc_analysis.rules.checks import OUTCOMES, RuleResults


def write_results_json(results: RuleResults, out, *, lines: bool = False, block: int = 20_000) -> None:
    """Write the results as ``cxc-analysis check --json`` prints them, a list of ``{"row", "rule",
    "outcome", "message"}``, to the text stream ``out`` block by block (never the
    whole list in memory), each record built with Arrow kernels; ``lines``: one JSON object a
    line (NDJSON) instead of one list.

    >>> import io; import pandas as pd; from cxc_analysis.rules.checks import evaluate_rules
    >>> t = pd.DataFrame({"source_row": [4], "host_org": ["A"], "visiting_org": ["B"]})
    >>> buffer = io.StringIO(); write_results_json(evaluate_rules(t), buffer, lines=True)
    >>> buffer.getvalue().splitlines()[4]
    '{"row":4,"rule":"single_visit","outcome":"pass","message":"B visits once"}'
    """
    separator = "\n" if lines else ","
    with _Background(_utf8_writer(out)) as write:  # a block is written while the next one is built
        if not lines:
            write(b"[")
        for start in range(0, len(results), block):
            positions = np.arange(start, min(start + block, len(results)))
            if start and not lines:
                write(b",")
            write(_json_block(results, positions, separator))
        if not lines:
            write(b"]\n")



class _Background:
    """``write`` on a thread of its own, in order, at most ``depth`` pieces waiting: writing a
    gigabyte waits on the disk, not on Python, so the next block is built meanwhile. An error of
    ``write`` (a closed pipe) is raised in the caller, at its next piece or at the end; an error
    of the caller (an interrupt) stops the writing without waiting for it.

    >>> pieces = []
    >>> with _Background(pieces.append) as write:
    ...     write(b"a"); write(b"b")
    >>> pieces
    [b'a', b'b']
    """

    def __init__(self, write, depth: int = 2):
        import queue
        import threading

        self._write, self._error, self._stopped = write, None, False
        self._queue = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="cxc-json-writer", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self._put

    def _run(self) -> None:
        while (piece := self._queue.get()) is not None:
            if self._error is None and not self._stopped:  # else pieces are only taken (no one waits)
                try:
                    self._write(piece)
                except BaseException as exc:  # noqa: BLE001 (raised again in the caller)
                    self._error = exc

    def _put(self, piece) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(piece)

    def __exit__(self, kind, value, traceback) -> None:
        import queue

        if kind is not None:  # the caller failed: what is left is dropped, a blocked write not awaited
            self._stopped = True
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put_nowait(None)
            return
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and kind is None:
            raise self._error



def _utf8_writer(out):
    """A function writing UTF-8 bytes to the text stream ``out``: straight to its byte buffer when
    it writes UTF-8 (megabytes of JSON are not decoded and encoded again), else decoded first."""
    buffer = getattr(out, "buffer", None)
    encoding = str(getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if buffer is not None and encoding == "utf8":
        out.flush()
        return buffer.write
    return lambda data: out.write(bytes(data).decode("utf-8"))



_RULE_JSON = [json.dumps(rule) for rule in RULES]



_OUTCOME_JSON = [json.dumps(outcome) for outcome in OUTCOMES]



def _json_block(results: RuleResults, positions: np.ndarray, separator: str):
    """The JSON objects of the exchanges at ``positions`` (all rules each), joined by ``separator``
    (after the last one too when it is a new line), as UTF-8 bytes (a memoryview): built in Arrow kernels (each message part
    escaped once, ``_JsonEscape``) and read back as one buffer, no Python string per record."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(positions) * len(RULES)
    if not n:
        return b""
    if results._escape is None:
        results._escape = _JsonEscape()
    row = pa.array(np.repeat(results.row[positions], len(RULES))).cast(pa.string())
    rule = pa.array(_RULE_JSON).take(pa.array(np.tile(np.arange(len(RULES)), len(positions))))
    outcome = pa.array(_OUTCOME_JSON).take(pa.array(results.outcome[positions].ravel().astype(np.int64)))
    by_rule = pa.concat_arrays([r.texts(positions, results._escape) for r in results.results])
    interleaved = (np.arange(len(positions))[:, None] + np.arange(len(RULES))[None, :] * len(positions)).ravel()
    message = by_rule.take(pa.array(interleaved))
    records = pc.binary_join_element_wise('{"row":', row, ',"rule":', rule, ',"outcome":', outcome,
                                          ',"message":"', message, '"}' + separator, "")
    data = _array_bytes(records)
    return data if separator == "\n" else data[:len(data) - len(separator.encode())]



def _array_bytes(array):
    """All the texts of an Arrow string array, concatenated, as UTF-8 bytes (a memoryview of its
    data buffer: nothing copied).

    >>> import pyarrow as pa
    >>> bytes(_array_bytes(pa.array(["a", "bé", None, "c"]).slice(1)))
    b'b\\xc3\\xa9c'
    """
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(array.buffers()[1], dtype=width)[array.offset:array.offset + len(array) + 1]
    data = array.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]):int(offsets[-1])]



class _JsonEscape:
    """Escapes message parts for a JSON string literal, as ``json.dumps`` does (quotes,
    backslashes and control characters; other characters kept): ``text`` for a fixed part,
    ``__call__`` for an Arrow array, ``cached`` for the distinct texts of a column (escaped once
    for all the blocks written).

    >>> print(_JsonEscape().text('say "hi" in C:/x'))
    say \\"hi\\" in C:/x
    """

    def __init__(self):
        self._done: dict[int, tuple] = {}

    def text(self, text: str) -> str:
        return json.dumps(text, ensure_ascii=False)[1:-1]

    def __call__(self, array):
        import pyarrow as pa
        import pyarrow.compute as pc


        control = pc.fill_null(pc.match_substring_regex(array, "[\\x{0}-\\x{1f}]"), False)
        escaped = replace_where(array, r"\\", r"\\\\")
        escaped = replace_where(escaped, '"', r'\\"')
        if pc.any(control).as_py():  # rare: Python's json escapes those
            fixed = [self.text(text) for text in pc.filter(array, control).to_pylist()]
            escaped = pc.replace_with_mask(escaped, control, pa.array(fixed, type=escaped.type))
        return escaped

    def cached(self, dictionary):
        done = self._done.get(id(dictionary))
        if done is None or done[0] is not dictionary:
            done = self._done[id(dictionary)] = (dictionary, self(dictionary))
        return done[1]
