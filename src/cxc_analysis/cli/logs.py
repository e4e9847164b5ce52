"""Log lines for people and for scheduled runs: on stderr, control characters shown escaped."""

from __future__ import annotations

import logging
import re
import sys

log = logging.getLogger("cxc_analysis")


# C0 and C1 controls, DEL, line/paragraph separators, bidirectional overrides and isolates
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")



def visible(text: str) -> str:
    r"""Text for the terminal with control characters shown escaped, so a name cannot move the
    cursor, clear the screen or retitle the window.

    >>> print(visible("Evil\x1b]0;owned\x07 GmbH\u2028"))
    Evil\x1b]0;owned\x07 GmbH\u2028
    """
    return CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)



LOG_FORMAT = "%(message)s"



TIME_FORMAT = "%Y-%m-%d %H:%M:%S"



def configure_logging(quiet: bool = False, verbose: bool = False, timestamps: bool = False) -> logging.Handler:
    """Log lines on stderr, with the date and time first if ``timestamps`` (scheduled runs' logs);
    ``quiet`` keeps notes, warnings and errors, ``verbose`` adds every step, papermill's included."""
    handler = _StderrHandler()
    handler.setFormatter(VisibleFormatter(("%(asctime)s " if timestamps else "") + LOG_FORMAT, TIME_FORMAT))
    for old in [h for h in log.handlers if isinstance(h, _StderrHandler)]:
        log.removeHandler(old)
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    if verbose:
        logging.getLogger("papermill").addHandler(handler)
        logging.getLogger("papermill").setLevel(logging.INFO)
    return handler



class VisibleFormatter(logging.Formatter):
    """Log lines with control characters shown escaped (``visible``): names are data, and no escape
    sequence in one reaches the terminal or splits a log line."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))



class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests capture it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass
