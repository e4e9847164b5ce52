"""The partnership's own text: Markdown sections rendered inert, as written.

CommonMark with tables (markdown-it-py). Raw HTML is shown as text, never passed through; links
are kept only for http(s) and mailto (any other link is shown as its text); images are embedded
from local files next to the Markdown file (nothing is fetched: a remote image is shown as its
description). Headings are shifted one level down, so a file's ``#`` is a section of the report
(h2, in the contents and the PDF's bookmarks) and ``##`` a subsection (h3).
"""

from __future__ import annotations

import base64
import html as htmllib
from pathlib import Path
from typing import NamedTuple

from cxc_analysis.core.errors import InputError
from cxc_analysis.report.export import slug

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".svg": "image/svg+xml", ".webp": "image/webp"}
IMAGE_LIMIT = 20 << 20  # bytes of one embedded image
SAFE_SCHEMES = ("http://", "https://", "mailto:")


class Rendered(NamedTuple):
    """A section's HTML and its headings (level, text, id) for the contents."""

    html: str
    headings: list[dict]


def safe_link(url: str) -> bool:
    """True for the links a report may hold: http(s) and mailto.

    >>> safe_link("https://remobilise.eu/"), safe_link("javascript:alert(1)"), safe_link("JaVaScRiPt:x")
    (True, False, False)
    """
    return url.strip().casefold().startswith(SAFE_SCHEMES)


def markdown_parser():
    """CommonMark with tables; raw HTML off (shown as text); links checked by ``safe_link``."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.validateLink = lambda url: True  # every link is parsed; the renderer decides what is kept
    return md


def render_markdown(text: str, base: Path, taken: set[str] | None = None) -> Rendered:
    """Markdown to inert HTML; images relative to ``base`` embedded; heading ids unique in ``taken``."""
    md = markdown_parser()
    tokens = md.parse(text)
    taken = set() if taken is None else taken
    headings = []
    for index, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 1, 6)
            token.tag = f"h{level}"
            if token.type == "heading_open":
                plain = "".join(child.content for child in tokens[index + 1].children or []
                                if child.type in ("text", "code_inline"))
                anchor = unique_id(slug(plain), taken)
                token.attrSet("id", anchor)
                if level <= 3:
                    headings.append({"level": level, "text": plain, "id": anchor})
        if token.type == "inline":
            for child in token.children or []:
                if child.type == "image":
                    _embed(child, base)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    return Rendered(md.renderer.render(tokens, md.options, {}), headings)


def unique_id(anchor: str, taken: set[str]) -> str:
    """``anchor``, or ``anchor-2``, ``anchor-3`` ... if taken; the one returned is then taken."""
    candidate, number = anchor, 2
    while candidate in taken:
        candidate, number = f"{anchor}-{number}", number + 1
    taken.add(candidate)
    return candidate


def _link_open(self, tokens, index, options, env):
    token = tokens[index]
    href = token.attrGet("href") or ""
    if not safe_link(href):
        token.meta["dropped"] = True
        return ""
    return f'<a href="{htmllib.escape(href, quote=True)}">'


def _link_close(self, tokens, index, options, env):
    depth = 0
    for back in range(index - 1, -1, -1):  # the matching opening token
        if tokens[back].type == "link_close":
            depth += 1
        elif tokens[back].type == "link_open":
            if depth == 0:
                return "" if tokens[back].meta.get("dropped") else "</a>"
            depth -= 1
    return "</a>"


def _embed(token, base: Path) -> None:
    """An image token's source as a data: URI from a local file, or the image replaced by its text."""
    src = token.attrGet("src") or ""
    alt = "".join(child.content for child in token.children or []) or token.content
    if "://" in src or src.casefold().startswith(("data:", "javascript:", "mailto:", "//")) or not src:
        token.type, token.tag, token.children, token.content = "text", "", None, f"[image not embedded: {alt or src}]"
        return
    path = (base / src).resolve()
    if not path.is_file():
        raise InputError("image not found (images must be local files next to the Markdown)", file=path)
    kind = IMAGE_TYPES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"not an image type the report embeds ({', '.join(IMAGE_TYPES)})", file=path)
    data = path.read_bytes()
    if len(data) > IMAGE_LIMIT:
        raise InputError(f"image larger than {IMAGE_LIMIT >> 20} MB", file=path)
    token.attrSet("src", f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}")
    token.attrSet("alt", alt)


def read_section(path: Path, taken: set[str] | None = None) -> Rendered:
    """A Markdown file rendered; InputError naming the path when it is missing or not UTF-8 text."""
    if not path.is_file():
        raise InputError("section file not found" if not path.exists() else "not a file", file=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"section file is not UTF-8 text (byte {exc.start})", file=path) from None
    return render_markdown(text, path.parent, taken)
