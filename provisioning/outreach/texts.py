"""The texts of our SMS, and how many SMS a text costs (pure).

An SMS holds 160 characters of the GSM 03.38 alphabet (GSM-7), or 70 UTF-16 code units
as soon as one character is outside it (UCS-2): Vietnamese with diacritics is always
UCS-2. A text longer than one SMS goes as parts of 153 (GSM-7) or 67 (UCS-2) characters,
each billed as one SMS. Every text here fits one SMS: with diacritics when that fits 70
characters, otherwise without them (and shortened where it must be) in 160.
"""

from __future__ import annotations

import unicodedata

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

#: The GSM 03.38 default alphabet (one septet each) and its extension table (two: the
#: escape, then the character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

#: Typography that has a plain equivalent in GSM-7.
_PLAIN = str.maketrans(
    {
        "·": "-",
        "–": "-",
        "—": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "\u00a0": " ",
        "đ": "d",
        "Đ": "D",
    }
)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def length(text: str) -> int:
    """Characters as the network counts them: septets (GSM-7) or UTF-16 code units."""
    if is_gsm7(text):
        return sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS ``text`` is sent as (and billed as)."""
    size = length(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if is_gsm7(text) else (UCS2_SINGLE, UCS2_PART)
    if size <= single:
        return 1
    return -(-size // part)


def fits_one(text: str) -> bool:
    return segments(text) == 1


def without_diacritics(text: str) -> str:
    """GSM-7 text: diacritics dropped with the case kept ("Đỗ Văn Dậy" → "Do Van Day"),
    typography made plain, anything else left out."""
    decomposed = unicodedata.normalize("NFD", text.translate(_PLAIN))
    kept = (c for c in decomposed if not unicodedata.combining(c))
    plain = unicodedata.normalize("NFC", "".join(kept)).translate(_PLAIN)
    return "".join(c for c in plain if c in GSM7_BASIC or c in GSM7_EXTENSION)


def one_line(text: str) -> str:
    """Whitespace (new lines too) as single spaces."""
    return " ".join(text.split())


def shortened(text: str, room: int) -> str:
    """``text`` cut to ``room`` characters (GSM-7) at a word if it can, marked with "..."."""
    if length(text) <= room:
        return text
    cut = text[: max(0, room - 3)]
    while cut and length(cut) > room - 3:  # extension characters count twice
        cut = cut[:-1]
    word = cut.rsplit(" ", 1)[0] if " " in cut[room // 2 :] else cut
    return word.rstrip(" ,.;:-") + "..."


class TextTooLong(ValueError):
    """A fixed text that cannot fit one SMS (e.g. a very long login page address)."""


def invitation(login_page_url: str) -> str:
    """The invitation to log in: where to get a code, and one line of instructions."""
    full = (
        f"Điều hành: mời thầy/cô đăng nhập. Lấy mã tại {login_page_url} rồi vào Element: "
        "tên đăng nhập là SĐT này, mật khẩu là mã."
    )
    short = f"Điều hành: lấy mã đăng nhập tại {login_page_url} rồi đăng nhập Element bằng SĐT này."
    for text in (full, without_diacritics(full), without_diacritics(short)):
        if fits_one(text):
            return text
    raise TextTooLong(
        f"Địa chỉ trang lấy mã {login_page_url} quá dài: tin mời đăng nhập không vừa một SMS "
        "(160 ký tự không dấu). Hãy đặt sms.login_page_url là một địa chỉ ngắn hơn."
    )


def fallback(code: str, label: str, unit: str, body: str, *, urgent: bool) -> str:
    """A directive by SMS: "KHẨN · Sở GD&ĐT · Thông báo mã K7QMA: …" with diacritics when it
    fits one SMS, else without them, the content shortened to fit."""
    urgent_mark = "KHẨN · " if urgent else ""
    head = f"{urgent_mark}{unit} · {label} mã {code}: "
    tail = " Xem đủ trên Element."
    text = one_line(body)
    if text and text[-1] not in ".!?…":
        text += "."
    full = head + text + tail
    if fits_one(full):
        return full
    plain_head, plain_tail = without_diacritics(head), without_diacritics(tail)
    room = GSM7_SINGLE - length(plain_head) - length(plain_tail)
    if room < 20:  # a very long unit name: the unit goes
        plain_head = without_diacritics(f"{urgent_mark}{label} mã {code}: ")
        room = GSM7_SINGLE - length(plain_head) - length(plain_tail)
    return plain_head + shortened(without_diacritics(text), room) + plain_tail
