"""What every post's rendering shares: the sender's HTML sanitised, the sender's line, the
marker of the bot's directive events. The cards themselves: ``bot.directives.cards``."""

from __future__ import annotations

import nh3

from provisioning import vocab
from provisioning.domain import primary_position, short_unit_name
from provisioning.view import DirectoryView, PersonView

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "sup",
    "sub",
    "hr",
    "span",
    "font",
}
MARKER = "vn.dieuhanh.directive"


def clean_html(html: str) -> str:
    """The sender's HTML with only what Matrix clients render safely (nh3 / ammonia)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={
            "a": {"href"},
            "span": {"data-mx-color", "data-mx-bg-color"},
            "font": {"color", "data-mx-color"},
            "ol": {"start"},
        },
        url_schemes={"https", "http", "mailto", "tel"},
    )


def sender_line(view: DirectoryView, person: PersonView) -> str:
    primary = primary_position(view, person)
    if primary is None:
        return person.full_name
    position, unit = primary
    return f"{person.full_name} ({vocab.label(position)}, {short_unit_name(unit.name)})"
