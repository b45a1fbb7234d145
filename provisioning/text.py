"""Vietnamese text rules: NFC storage, accent- and case-insensitive matching, name order."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_COMBINING = {cp: None for cp in range(0x0300, 0x0370)}
_D = str.maketrans({"đ": "d", "Đ": "d"})


_ODD_SPACE = re.compile(r"\s\s|[^\S ]")


def nfc(value: str) -> str:
    """NFC-normalise and collapse runs of whitespace; the form everything is stored in."""
    if (
        unicodedata.is_normalized("NFC", value)
        and not _ODD_SPACE.search(value)
        and value[:1] != " "
        and value[-1:] != " "
    ):
        return value  # the common case, already clean: no copy
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def fold(value: str) -> str:
    """The matching key: no diacritics, đ→d, lower case, single spaces.

    "Nguyễn Văn An", "NGUYEN VAN AN" and the NFD spelling all fold to "nguyen van an".
    """
    decomposed = unicodedata.normalize("NFD", value).translate(_D).translate(_COMBINING)
    return _SPACES.sub(" ", decomposed.casefold()).strip()


def compact(value: str) -> str:
    """``fold`` without spaces or punctuation, for headers and codes: "Mã đơn vị" → "madonvi"."""
    return re.sub(r"[^0-9a-z]", "", fold(value))


def name_sort_key(full_name: str) -> tuple[str, str, str]:
    """Vietnamese order: given name, then middle names, then family name."""
    words = fold(full_name).split(" ")
    if len(words) == 1:
        return (words[0], "", "")
    return (words[-1], " ".join(words[1:-1]), words[0])


def format_number(value: int | float, decimals: int = 0) -> str:
    """Vietnamese style: 14.663 and 92,5 (dot for thousands, comma for decimals)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
