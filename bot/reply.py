"""What the bot says: a plain-text body and, where it helps, HTML for clients that render it."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any


@dataclass
class Reply:
    text: str
    html: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # machine-readable content fields

    def content(self, reply_to: str | None = None) -> dict[str, Any]:
        content: dict[str, Any] = {"msgtype": "m.notice", "body": self.text}
        if self.html is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = self.html
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        content.update(self.extra)
        return content


def html_table(title: str, rows: list[tuple[str, str]]) -> str:
    """A two-column table; an empty value makes the row a sub-heading."""
    lines = [f"<p><strong>{escape(title)}</strong></p>", "<table>"]
    for label, value in rows:
        if value == "":
            lines.append(f'<tr><th colspan="2" align="left">{escape(label)}</th></tr>')
        else:
            lines.append(
                f'<tr><td>{escape(label.strip())}</td><td align="right">{escape(value)}</td></tr>'
            )
    lines.append("</table>")
    return "\n".join(lines)


def text_table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max((len(label) for label, _ in rows), default=0)
    lines = [title]
    for label, value in rows:
        lines.append(label if value == "" else f"{label.ljust(width)}  {value}")
    return "\n".join(lines)
