"""Files people send the bot (attachments of a post, a report's files): which are accepted,
and what of a file message is kept.

Accepted: PDF, Office documents (doc, docx, xls, xlsx, ppt, pptx, odt, ods, odp) and
images. A file whose name has an extension is judged by it (clients often label Office
files application/octet-stream); one without, by its mimetype.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

#: msgtypes of a message that carries a file
FILE_MSGTYPES = {"m.file", "m.image", "m.video", "m.audio"}
OFFICE_EXTENSIONS = {"doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp"}
IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif"}
ALLOWED_EXTENSIONS = {"pdf", *OFFICE_EXTENSIONS, *IMAGE_EXTENSIONS}
ALLOWED_MIMETYPES = {
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
REFUSED = (
    "Bot không nhận tệp '{name}': chỉ nhận tệp PDF, văn bản Office (doc, docx, xls, xlsx, "
    "ppt, pptx, odt, ods) hoặc ảnh."
)
#: what of a file message an attachment keeps
KEPT = ("msgtype", "body", "url", "file", "info", "filename")


def file_name(content: dict[str, Any]) -> str:
    return str(content.get("filename") or content.get("body") or "tệp")


def _extension(content: dict[str, Any]) -> str:
    return PurePosixPath(file_name(content)).suffix.lower().lstrip(".")


def _mimetype(content: dict[str, Any]) -> str:
    info = content.get("info") or {}
    return str(info.get("mimetype") or "").lower()


def of_message(msgtype: str, content: dict[str, Any]) -> dict[str, Any] | None:
    """The file a message carries (its content, with its msgtype), or None."""
    return {**content, "msgtype": msgtype} if msgtype in FILE_MSGTYPES else None


def accepted(content: dict[str, Any]) -> bool:
    """A PDF, an Office document or an image."""
    if content.get("msgtype") in ("m.video", "m.audio"):
        return False
    extension = _extension(content)
    if extension:
        return extension in ALLOWED_EXTENSIONS
    mimetype = _mimetype(content)
    return mimetype in ALLOWED_MIMETYPES or mimetype.startswith("image/")


def is_pdf(content: dict[str, Any]) -> bool:
    extension = _extension(content)
    return extension == "pdf" if extension else _mimetype(content) == "application/pdf"


def refusal(content: dict[str, Any]) -> str:
    """The one sentence that refuses a file of another type."""
    return REFUSED.format(name=file_name(content))


def attachment(content: dict[str, Any]) -> dict[str, Any]:
    """What a post keeps of a file message (an encrypted one's keys too, until the
    delivery worker re-uploads it in clear)."""
    return {k: content[k] for k in KEPT if k in content}
