"""HTML from portals → HTML safe for a Matrix ``formatted_body`` (nh3, i.e. Rust's ammonia).

Feeds and CMS pushes carry whatever the portal's editor produced, sometimes worse. Only a
small allowlist of the tags the Matrix spec lists for messages survives, with a few
attributes; links keep only http, https and mailto; every event handler, script, style,
iframe and form is dropped with its content. Nothing else in the bridge builds HTML from
outside text without going through here (titles and plain text are escaped instead).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

#: Tags kept from a feed's summary (a subset of what the spec allows in formatted_body).
# fmt: off
SUMMARY_TAGS = {
    "a", "b", "strong", "i", "em", "u", "s", "del", "p", "br", "ul", "ol", "li",
    "blockquote", "code", "pre", "sub", "sup", "h3", "h4", "h5", "h6",
}
# fmt: on
#: Tags whose content goes with them (never rendered as text either).
# fmt: off
DROP_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "noscript", "template", "form",
    "textarea", "select", "button", "svg", "math", "title",
}
# fmt: on
LINK_SCHEMES = {"http", "https", "mailto"}

#: The final gate on a whole formatted_body we built (our tags, plus mxc images).
MESSAGE_TAGS = SUMMARY_TAGS | {"img", "hr", "span"}

_SPACES = re.compile(r"\s+")
_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/li|/div|/h\d)\b[^<>]*>")


def _summary_attributes(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if is_web_url(value, schemes=LINK_SCHEMES) else None
    return value


def _message_attributes(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if value.startswith("mxc://") else None
    if tag == "a" and attr == "href":
        return value if is_web_url(value, schemes=LINK_SCHEMES) else None
    return value


_summary = nh3.Cleaner(
    tags=SUMMARY_TAGS,
    clean_content_tags=DROP_WITH_CONTENT,
    attributes={"a": {"href"}},
    attribute_filter=_summary_attributes,
    url_schemes=LINK_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)
_message = nh3.Cleaner(
    tags=MESSAGE_TAGS,
    clean_content_tags=DROP_WITH_CONTENT,
    attributes={"a": {"href"}, "img": {"src", "alt", "width", "height"}},
    attribute_filter=_message_attributes,
    url_schemes=LINK_SCHEMES | {"mxc"},
    link_rel=None,
    strip_comments=True,
)
_text = nh3.Cleaner(tags=set(), clean_content_tags=DROP_WITH_CONTENT, strip_comments=True)


def is_web_url(value: str | None, *, schemes: set[str] | None = None) -> bool:
    """True for an absolute http(s) URL (or another allowed scheme) with a host."""
    if not value:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    allowed = schemes or {"http", "https"}
    if parts.scheme.lower() not in allowed:
        return False
    return parts.scheme.lower() == "mailto" or bool(parts.netloc)


def web_url(value: str | None, base: str | None = None) -> str | None:
    """An http(s) URL from ``value`` (relative ones resolved against ``base``), or None."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if base and not urlsplit(value).scheme:
        value = urljoin(base, value)
    return value if is_web_url(value) and len(value) <= 1000 else None


def clean_summary(fragment: str | None) -> str:
    """A feed's or portal's HTML summary, reduced to the allowlist."""
    if not fragment:
        return ""
    return _summary.clean(fragment).strip()


def clean_message(fragment: str) -> str:
    """The last pass over a whole formatted_body before it is sent."""
    return _message.clean(fragment)


def to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, spaces collapsed."""
    if not fragment:
        return ""
    stripped = _text.clean(_block_breaks(fragment))
    return _SPACES.sub(" ", html.unescape(stripped)).strip()


def _block_breaks(fragment: str) -> str:
    """Keep words apart where block tags end ("<p>a</p><p>b</p>" → "a b").

    ``[^<>]`` keeps it linear: with ``[^>]``, "<br <br <br …" never closed made every
    "<br" scan to the end of the text (1 MB took minutes)."""
    return _BLOCK_END.sub(r" \g<0>", fragment)


def trim(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"
