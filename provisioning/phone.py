"""Vietnamese phone numbers as school spreadsheets hold them, turned into E.164 mobiles.

Login is by SMS, so only a valid Vietnamese *mobile* number is accepted. The digit
clean-up (separators, ``+84``/``84``/``0084``, a lost leading zero, Excel numbers,
pre-2018 11-digit numbers, several numbers in one cell) is done here; validity and
number type come from the ``phonenumbers`` metadata, memoised per (first four digits
of the national number, length) because a full ``phonenumbers`` check costs ~30 µs
and the Vietnamese metadata decides on nothing more than that (see the tests).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType

INVALID: Final = "số điện thoại không hợp lệ"
NOT_MOBILE: Final = "không phải số di động"
NOT_VIETNAMESE: Final = "không phải số điện thoại Việt Nam"
EXCEL_ROUNDED: Final = "số điện thoại có thể đã bị Excel làm tròn"

# When no candidate in a cell is a valid mobile, the most telling reason wins.
_PROBLEM_RANK: Final = {NOT_MOBILE: 0, NOT_VIETNAMESE: 1, EXCEL_ROUNDED: 2, INVALID: 3}


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """``e164`` for a valid mobile, else ``problem``; both None when the cell is empty."""

    e164: str | None
    problem: str | None = None

    @property
    def missing(self) -> bool:
        """True when there was nothing to normalise (empty or blank cell)."""
        return self.e164 is None and self.problem is None

    @property
    def ok(self) -> bool:
        return self.e164 is not None


_MISSING: Final = PhoneResult(None, None)
_RESULTS: Final = {p: PhoneResult(None, p) for p in _PROBLEM_RANK}

# Pre-2018 11-digit mobile prefixes (national number without the 0) → today's.
_OLD_PREFIXES: Final = {
    **{f"16{d}": f"3{d}" for d in "23456789"},
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    "186": "56", "188": "58", "199": "59",
}  # fmt: skip

_MOBILE, _OTHER_VALID, _INVALID = 0, 1, 2
_KINDS: dict[tuple[str, int], int] = {}

_ASCII_DIGITS = re.compile(r"[0-9]+")
_NON_DIGITS = re.compile(r"[^0-9]+")
# "9.12345678E+08", "9,12345678E+08", "9.12345678e8" (Excel's scientific notation).
_SCIENTIFIC = re.compile(r"([0-9]+)(?:[.,]([0-9]*))?[eE]\+?([0-9]+)")
# "912345678.0": a float written out as text.
_FLOAT_TEXT = re.compile(r"(\+?[0-9]{7,})[.,]0+")
# A cell is cut into candidates at anything that cannot be part of a written number
# ("/", ",", ";", letters such as "hoặc", "Zalo", "SĐT:") and at a dash with spaces.
_CANDIDATE_SPLIT = re.compile(r"[^0-9 \t.()+\-]+|\s+-\s+")


def normalize_phone(raw: object) -> PhoneResult:
    """Normalise one spreadsheet cell to an E.164 Vietnamese mobile number.

    Accepts str, int, float (Excel), or anything whose ``str()`` is a number.
    Several numbers in one cell: the first valid mobile is taken.
    """
    if raw is None:
        return _MISSING
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, bool):
        return _RESULTS[INVALID]
    elif isinstance(raw, int):
        if raw < 0:
            return _RESULTS[INVALID]
        return _result(_from_digits(str(raw), plus=False))
    elif isinstance(raw, float):
        if math.isnan(raw):
            return _MISSING
        if math.isinf(raw) or raw < 0 or not raw.is_integer():
            return _RESULTS[INVALID]
        return _result(_from_digits(str(int(raw)), plus=False))
    else:
        text = str(raw)

    text = text.strip()
    if not text:
        return _MISSING
    if text.isdigit() and text.isascii():
        return _result(_from_digits(text, plus=False))
    if not text.isascii():
        # Full-width digits and signs, NBSP and other exotic spaces.
        text = unicodedata.normalize("NFKC", text).strip()
    return _from_text(text)


def format_local(e164: str) -> str:
    """Display form of a mobile number: "+84912345678" → "0912 345 678"."""
    if len(e164) != 12 or not e164.startswith("+84") or not e164[3:].isdigit():
        raise ValueError(f"not a Vietnamese mobile number in E.164: {e164!r}")
    return f"0{e164[3:6]} {e164[6:9]} {e164[9:]}"


def _result(outcome: str) -> PhoneResult:
    """Wrap ``_from_digits`` output: an E.164 string or one of the problem constants."""
    if outcome[0] == "+":
        return PhoneResult(outcome)
    return _RESULTS[outcome]


def _from_text(text: str) -> PhoneResult:
    scientific = _SCIENTIFIC.fullmatch(text)
    if scientific:
        return _result(_from_scientific(*scientific.groups()))
    as_float = _FLOAT_TEXT.fullmatch(text)
    if as_float:
        text = as_float[1]

    problems: list[str] = []
    chunks = [c for c in _CANDIDATE_SPLIT.split(text) if c and not c.isspace()]
    numbered = [c for c in chunks if _ASCII_DIGITS.search(c)]
    for chunk in numbered:
        outcome = _from_digits(_NON_DIGITS.sub("", chunk), _starts_with_plus(chunk))
        if outcome[0] == "+":
            return PhoneResult(outcome)
        problems.append(outcome)
    # "0912345678-0987654321": runs of digits long enough to be numbers on their own.
    for chunk in numbered:
        runs = _ASCII_DIGITS.findall(chunk)
        if len(runs) > 1:
            for run in runs:
                if len(run) >= 9:
                    outcome = _from_digits(run, plus=False)
                    if outcome[0] == "+":
                        return PhoneResult(outcome)
    # "0912 - 345 - 678", "0912/345/678": one number cut up by separators.
    if len(numbered) > 1:
        outcome = _from_digits(_NON_DIGITS.sub("", text), _starts_with_plus(numbered[0]))
        if outcome[0] == "+":
            return PhoneResult(outcome)
        problems.append(outcome)
    if not problems:
        return _RESULTS[INVALID]
    return _RESULTS[min(problems, key=_PROBLEM_RANK.__getitem__)]


def _starts_with_plus(chunk: str) -> bool:
    return chunk.lstrip(" \t(").startswith("+")


def _from_scientific(whole: str, fraction: str | None, exponent: str) -> str:
    """Excel's "9.12345678E+08"; refuse it when Excel has dropped digits."""
    fraction = (fraction or "").rstrip("0")
    shift = int(exponent)
    if len(fraction) > shift:
        return INVALID
    if len(fraction) < shift and int(whole + fraction) != 0:
        # Trailing zeros were added back: the shown value was (possibly) rounded.
        return EXCEL_ROUNDED
    return _from_digits(str(int(whole + fraction)), plus=False)


def _from_digits(digits: str, plus: bool) -> str:
    """Digits of one number (and whether a "+" preceded them) → E.164 or a problem."""
    rest: str | None = None
    if plus:
        if not digits.startswith("84"):
            return NOT_VIETNAMESE
        rest = digits[2:]
    elif digits.startswith("0084"):
        rest = digits[4:]
    elif digits.startswith("00"):
        return INVALID
    elif digits.startswith("0"):
        national = digits[1:]
    elif digits.startswith("84") and len(digits) >= 11:
        # 84 + 9 digits; a lost leading zero leaves at most 10 digits.
        rest = digits[2:]
    else:
        national = digits  # the leading zero was lost (Excel)
    if rest is not None:
        national = rest[1:] if rest.startswith("0") else rest  # "+84 (0)912…"
    if len(national) == 10 and national[0] == "1":
        new = _OLD_PREFIXES.get(national[:3])
        if new is not None:
            national = new + national[3:]
    kind = _kind(national)
    if kind == _MOBILE:
        return "+84" + national
    return NOT_MOBILE if kind == _OTHER_VALID else INVALID


def _kind(national: str) -> int:
    """Mobile / other valid / invalid, memoised on (first four digits, length)."""
    key = (national[:4], len(national))
    kind = _KINDS.get(key)
    if kind is None:
        kind = _KINDS[key] = _classify(national)
    return kind


def _classify(national: str) -> int:
    """The full ``phonenumbers`` check of a national significant number."""
    if not 4 <= len(national) <= 12 or national[0] == "0":
        return _INVALID
    number = phonenumbers.PhoneNumber(country_code=84, national_number=int(national))
    if not phonenumbers.is_valid_number(number):
        return _INVALID
    if phonenumbers.number_type(number) == PhoneNumberType.MOBILE:
        return _MOBILE
    return _OTHER_VALID
