r"""Detect Vietnamese text in a legacy encoding that was read as Windows-1252/Latin-1.

Old school spreadsheets were typed with TCVN3 (ABC, ".VnTime" fonts) or VNI-Windows
("VNI-Times") fonts; opened without those fonts, or exported, the bytes come out as
Windows-1252 characters. UTF-8 decoded as Windows-1252 is caught too:

    TCVN3   "Nguyễn Văn An"  → "NguyÔn V¨n An",   "Trường" → "Tr\xadêng"
    VNI     "Nguyễn Văn An"  → "Nguyeãn Vaên An",  "Trường" → "Tröôøng"
    UTF-8   "Nguyễn Văn An"  → "Nguyá»…n VÄƒn An"

This is a heuristic on NFC text. It fires on any of:

1. a character Vietnamese never uses that these decodings produce: Latin-1 symbols
   (¡ … ¿, ×, ÷), non-Vietnamese Latin-1 letters (ä å æ ç ë î ï ñ ö ø û ü ß þ ÿ …),
   Windows-1252 extras (€ ƒ † ‰ Š Œ …), C1 control characters and U+FFFD;
   "·" and "Ð"/"ð" only inside a word (" · " is a separator; "Ð" typed for "Đ" is not
   mojibake);
2. a VNI vowel + mark pair: "aê" (ă), "eâ" (ê), "oâ" (ô), "aù", "eã", "ôø", "uõ", …
   (never adjacent in Vietnamese; "oà", "oá", "oã" are left alone: they spell
   "hoà", "khoá", "xoã" as well as VNI "hồ", "hố", "hỗ"; "aú" is left alone for
   "Raúl"), and "uú" (TCVN3 "uỳ": "Huỳnh" → "Huúnh");
3. UTF-8 lead bytes "Â"/"Ã" followed by a continuation byte (‘ ’ “ ” • – — …, or
   a no-break space inside a word: "Hà" → "HÃ\xa0m");
4. a capital inside a word that is not ASCII, after a lower-case letter or as the
   second letter of a capitalised word ("NguyÔn", "DËy", "HoÃ", "BÝch"; "McDonald"
   is fine);
5. a non-ASCII lower-case letter inside an all-capitals word ("TRóC" = TCVN3 "TRÚC");
6. "ă"/"â" at the end of a word (TCVN3 "õ" is "â": "Võ" → "Vâ"; Vietnamese words
   never end in ă or â);
7. other spellings Vietnamese does not have, which TCVN3 capitals produce: "i"/"y"
   before "ô õ ò ó" except in "gi…" ("NGUYỄN" → "NGUYÔN", "TRIẾT" → "TRIÕT"), and a
   word starting with a toned "y" and a consonant ("Ích" → "Ých").

Letters of other languages that Vietnamese lacks ("Müller", "François", "Noël",
"Øystein", "Muñoz") are produced by the legacy encodings too (VNI writes "ư" as "ö" and
"đ" as "ñ"), so a name whose only evidence is such letters cannot be told apart on its
own: ``classify`` calls it "foreign" rather than "legacy", and the importer decides
with the rest of the file (see DATA-FORMAT.md).

Known limits: text whose legacy form is itself a correct spelling is not caught ("Lý"
in TCVN3; VNI "Hồ" reads "Hoà"; TCVN3 "Khúc Thừa Dụ" reads "Khóc Thõa Dô").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final, Literal

_TONES: Final = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
_VIET_LOWER: Final = frozenset(
    unicodedata.normalize("NFC", vowel + tone) for vowel in "aăâeêioôơuưy" for tone in _TONES
) | {"đ"}
_VIET_LETTERS: Final = _VIET_LOWER | {c.upper() for c in _VIET_LOWER}


def _char_class(chars: Iterable[str]) -> str:
    """A regex character class matching exactly ``chars``."""
    return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"


_LATIN: Final = [chr(cp) for cp in (*range(0x41, 0x250), *range(0x1E00, 0x1F00))]
_LOWER: Final = _char_class(c for c in _LATIN if c.islower())
_UPPER: Final = _char_class(c for c in _LATIN if c.isupper())
_UPPER_NON_ASCII: Final = _char_class(c for c in _LATIN if c.isupper() and not c.isascii())
_LOWER_NON_ASCII: Final = _char_class(c for c in _LATIN if c.islower() and not c.isascii())
_LETTER: Final = r"[^\W\d_]"

#: Letters of foreign names that Vietnamese lacks (Latin-1's, as legacy text shows them).
FOREIGN_LETTERS: Final = frozenset("äåæçëîïñöøûüÿßÄÅÆÇËÎÏÑÖØÛÜ")

# Latin-1 and Windows-1252 characters that never occur in Vietnamese text, except the
# no-break space, "·", "Ð" and "ð" (handled in context below) and the foreign letters.
_IMPOSSIBLE: Final = _char_class(
    [
        c
        for c in map(chr, range(0x80, 0x100))
        if c not in _VIET_LETTERS and c not in "\u00a0·Ðð" and c not in FOREIGN_LETTERS
    ]
    + list("€ƒ„†‡ˆ‰Š‹ŒŽ˜™š›œžŸ\ufffd")
)
# The continuation bytes 0x80-0xBF as Windows-1252 shows them (no-break space excepted).
_CONTINUATION: Final = _char_class(
    [bytes([b]).decode("cp1252", "replace") for b in range(0x80, 0xA0)]
    + [chr(cp) for cp in range(0x80, 0xA0)]
    + [chr(cp) for cp in range(0xA1, 0xC0)]
)

# Base vowel → VNI mark characters that never follow it in Vietnamese.
_VNI_MARKS: Final = {
    "a": "ùøûõï" "âáàåãä" "êéèüë",  # tones, â-forms, ă-forms (not "ú": Raúl)
    "e": "ùøûõï" "âáàåãä",  # tones, ê-forms
    "o": "ùøûõï" "âåä",  # tones, ô-forms; not à/á/ã (hoà, khoá, xoã)
    "ô": "ùøûõï",  # ơ with a tone
    "u": "ùøûõïú",  # "uú": not VNI but TCVN3 "uỳ"
    "y": "ùøûõ",
}  # fmt: skip

# Every alternative starts matching at a non-ASCII character (context is looked at
# with look-behinds), so the leading look-ahead rejects ASCII positions at once.
_RULES: Final = [
    # 1. characters Vietnamese never uses
    _IMPOSSIBLE,
    rf"(?<={_LETTER})[·Ðð]",
    # 2. VNI vowel + mark
    "(?i:" + "|".join(f"(?<={base}){_char_class(m)}" for base, m in _VNI_MARKS.items()) + ")",
    # 3. UTF-8 read as Windows-1252
    rf"[ÂÃ]{_CONTINUATION}",
    rf"(?<={_LETTER})[ÂÃ]\xa0|[ÂÃ]\xa0(?={_LETTER})",
    # 4. non-ASCII capitals inside a word
    rf"(?<={_LOWER}){_UPPER_NON_ASCII}",
    rf"(?<=(?<!{_LETTER}){_UPPER}){_UPPER_NON_ASCII}(?={_LOWER})",
    # 5. non-ASCII lower case inside an all-capitals word
    rf"(?<={_UPPER}{_UPPER}){_LOWER_NON_ASCII}",
    rf"(?<={_UPPER}){_LOWER_NON_ASCII}(?={_UPPER})",
    # 6. ă, â ending a word
    rf"[ăâĂÂ](?!{_LETTER})",
    # 7. i/y + ô õ ò ó outside "gi"; a toned y starting a word before a consonant
    r"(?i:(?:(?<=i)(?<!gi)|(?<=y))[ôõòó])",
    rf"(?<!{_LETTER})[ýỳỷỹỵÝỲỶỸỴ](?=[b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z])",
]
_MOJIBAKE: Final = re.compile(r"(?=[^\x00-\x7f])(?:" + "|".join(_RULES) + ")")


def classify(text: str) -> Literal["legacy", "foreign"] | None:
    """ "legacy" when ``text`` looks like TCVN3, VNI or UTF-8 read as Windows-1252/Latin-1;
    "foreign" when its only oddity is letters Vietnamese lacks (a foreign name, or
    legacy text that happens to produce only those); None when it reads as Vietnamese."""
    if text.isascii():
        return None
    text = unicodedata.normalize("NFC", text)
    if _MOJIBAKE.search(text) is not None:
        return "legacy"
    if not FOREIGN_LETTERS.isdisjoint(text):
        return "foreign"
    return None


def looks_like_mojibake(text: str) -> bool:
    """True when ``text`` is not plain Vietnamese: legacy-encoded, or with foreign letters."""
    return classify(text) is not None
