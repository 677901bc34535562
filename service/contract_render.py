"""A contract document as the signing page shows it: Markdown and HTML rendered, then sanitised by nh3."""

from __future__ import annotations

import html as html_lib
import re
from functools import cache

import nh3
from markdown_it import MarkdownIt

# No images: an <img src> would load an outside asset (and tell its host who opened the link).
TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
URL_SCHEMES = {"http", "https", "mailto"}
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|div|tr|blockquote|pre|section|article)\s*>|<br\s*/?>", re.IGNORECASE)


@cache
def _markdown() -> MarkdownIt:
    # CommonMark, with raw HTML allowed through to nh3 (which decides what survives), plus tables.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def sanitise(html: str) -> str:
    return nh3.clean(html, tags=TAGS, url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow")


_HEADING = re.compile(r"<(/?)h([1-6])\b")


def demote_headings(html: str) -> str:
    """The document's h1 becomes an h3 and so on: the page has its own h1 and h2 (one outline for a screen reader)."""
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 2, 6)}", html)


def render_document(content_type: str, body: bytes) -> str:
    """Safe HTML for a text document (Markdown or HTML)."""
    text = body.decode("utf-8")
    if content_type == "text/markdown":
        return demote_headings(sanitise(_markdown().render(text)))
    return demote_headings(sanitise(text))


def plain_text(content_type: str, body: bytes) -> str:
    """The words of a text document, for the diff and the e-mailed copy (HTML tags dropped)."""
    text = body.decode("utf-8")
    if content_type == "text/html":
        stripped = html_lib.unescape(nh3.clean(_BLOCK_END.sub(lambda m: m.group(0) + "\n", text), tags=set()))
        return "\n".join(line.strip() for line in stripped.splitlines() if line.strip())
    return text
