"""Phone numbers as Vietnamese spreadsheets hold them → E.164 mobile numbers."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from provisioning import phone
from provisioning.phone import (
    EXCEL_ROUNDED,
    INVALID,
    NOT_MOBILE,
    NOT_VIETNAMESE,
    PhoneResult,
    format_local,
    normalize_phone,
)

E164 = "+84912345678"


def oracle(national_with_zero: str) -> PhoneResult:
    """What a plain, slow ``phonenumbers`` parse says about a national-format number."""
    try:
        number = phonenumbers.parse(national_with_zero, "VN")
    except phonenumbers.NumberParseException:
        return PhoneResult(None, INVALID)
    if not phonenumbers.is_valid_number(number):
        return PhoneResult(None, INVALID)
    if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        return PhoneResult(None, NOT_MOBILE)
    return PhoneResult(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# --- accepted spellings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "0912 345 678",
        "091 234 5678",
        "0912.345.678",
        "0912-345-678",
        "(091) 234-5678",
        "  0912345678  ",
        "\t0912 345 678\n",
        "+84912345678",
        "+84 912 345 678",
        "+84-912-345-678",
        "+84.912.345.678",
        "84912345678",
        "84 912 345 678",
        "(+84) 912 345 678",
        "(+84)912345678",
        "(84) 912345678",
        "0084912345678",
        "0084 912 345 678",
        "+84 (0) 912 345 678",
        "+840912345678",
        "840912345678",
        "912345678",  # the leading zero lost
        "912 345 678",
        912345678,  # Excel number cell
        912345678.0,
        84912345678,
        84912345678.0,
        "912345678.0",  # float written out by a CSV exporter
        "0912345678.0",
        "9.12345678E+08",
        "9,12345678E+08",
        "9.12345678e+08",
        "9.12345678E8",
        "9.123456780E+08",
        "8.4912345678E+10",
        Decimal("912345678"),
        "'0912345678",  # Excel's text prefix
        "SĐT: 0912 345 678",
        "0912345678 (Zalo)",
        "0912345678 ext 12",
        "- 0912345678",  # a bullet
        "ĐT 0912.345.678 - cô Lan",
        "０９１２ ３４５ ６７８",  # full-width digits
        "0912\u00a0345\u00a0678",  # no-break spaces
        "0912\u2009345\u2009678",  # thin spaces
        "0912\u200b345678",  # zero-width space
    ],
)
def test_accepted_spellings(raw: object) -> None:
    assert normalize_phone(raw) == PhoneResult(E164, None)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0327 123 456", "+84327123456"),  # Viettel 03x
        ("0708123456", "+84708123456"),  # MobiFone 07x
        ("0812345678", "+84812345678"),  # Vinaphone 08x
        ("0522 123 456", "+84522123456"),  # Vietnamobile 052
        ("0562 123 456", "+84562123456"),  # Vietnamobile 056
        ("0592123456", "+84592123456"),  # Gmobile 059
        ("0862123456", "+84862123456"),  # Viettel 086
        ("0888123456", "+84888123456"),
        ("0898123456", "+84898123456"),
        ("0996123456", "+84996123456"),
        ("0999123456", "+84999123456"),
    ],
)
def test_mobile_ranges(raw: str, e164: str) -> None:
    assert normalize_phone(raw).e164 == e164


# Written out from the 2018 renumbering plan, independently of the module's table.
OLD_TO_NEW = [
    ("0162", "032"), ("0163", "033"), ("0164", "034"), ("0165", "035"),
    ("0166", "036"), ("0167", "037"), ("0168", "038"), ("0169", "039"),
    ("0120", "070"), ("0121", "079"), ("0122", "077"), ("0126", "076"), ("0128", "078"),
    ("0123", "083"), ("0124", "084"), ("0125", "085"), ("0127", "081"), ("0129", "082"),
    ("0186", "056"), ("0188", "058"), ("0199", "059"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new"), OLD_TO_NEW)
def test_pre_2018_eleven_digit_numbers(old: str, new: str) -> None:
    subscriber = "2345678"
    expected = "+84" + new[1:] + subscriber
    assert oracle(new + subscriber).e164 == expected  # today's number is a valid mobile
    assert oracle(old + subscriber).e164 is None  # and the old one no longer is
    spellings = [
        old + subscriber,
        f"{old} {subscriber[:3]} {subscriber[3:]}",
        f"{old}.{subscriber[:3]}.{subscriber[3:]}",
        old[1:] + subscriber,  # leading zero lost
        int(old[1:] + subscriber),
        float(old[1:] + subscriber),
        "+84" + old[1:] + subscriber,
        "+84 " + old[1:] + " " + subscriber,
        "(+84) " + old[1:] + subscriber,
        "84" + old[1:] + subscriber,
        int("84" + old[1:] + subscriber),
        "0084" + old[1:] + subscriber,
        "+84 (0)" + old[1:] + subscriber,
    ]
    for raw in spellings:
        assert normalize_phone(raw) == PhoneResult(expected), raw


def test_old_prefixes_match_the_module_table() -> None:
    table = {"0" + old: "0" + new for old, new in phone._OLD_PREFIXES.items()}
    assert table == dict(OLD_TO_NEW)


def test_new_prefix_84_is_not_mistaken_for_the_country_code() -> None:
    # 084 is a Vinaphone prefix: with its zero lost it starts with 84.
    assert normalize_phone("841234567").e164 == "+84841234567"
    assert normalize_phone(841234567).e164 == "+84841234567"
    assert normalize_phone("84841234567").e164 == "+84841234567"
    assert normalize_phone("+84841234567").e164 == "+84841234567"


# --- several numbers in one cell ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678 / 0987654321",
        "0912345678/0987654321",
        "0912345678, 0987654321",
        "0912345678; 0987654321",
        "0912345678 - 0987654321",
        "0912345678 hoặc 0987654321",
        "0912 345 678 hoặc 0987 654 321",
        "0912345678 0987654321",
        "0912345678-0987654321",
        "028 3829 1234 / 0912 345 678",  # landline first: the mobile is used
        "028.3829.1234 - 0912.345.678",
        "abc / 0912345678",
        "0123 / 0912345678",
        "0912345678 (cá nhân), 0283829 1234 (cơ quan)",
    ],
)
def test_first_valid_mobile_in_a_cell(raw: str) -> None:
    assert normalize_phone(raw) == PhoneResult(E164)


def test_first_of_two_valid_mobiles_wins() -> None:
    assert normalize_phone("0987654321 / 0912345678").e164 == "+84987654321"
    assert normalize_phone("01662345678 hoặc 0912345678").e164 == "+84362345678"


@pytest.mark.parametrize("raw", ["0912 - 345 - 678", "0912/345/678", "0912 345 - 678"])
def test_one_number_cut_by_separators(raw: str) -> None:
    assert normalize_phone(raw).e164 == E164


# --- problems ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "028 3829 1234",  # Hồ Chí Minh landline
        "(028) 3829 1234",
        "02838291234",
        "2838291234",  # landline with its zero lost
        "+84 28 3829 1234",
        "84 28 3829 1234",
        "024 3825 1234",  # Hà Nội landline
        "0236 382 1234",  # Đà Nẵng landline
        "1800 1234",  # toll free
        "1900 1234",  # premium rate
        "028 3829 1234 / 024 3825 1234",
        "028 3829 1234 hoặc 0123",
    ],
)
def test_landlines_and_service_numbers_are_not_mobile(raw: str) -> None:
    assert normalize_phone(raw) == PhoneResult(None, NOT_MOBILE)


@pytest.mark.parametrize(
    "raw",
    [
        "0912",
        "091234567",  # a digit short
        "09123456789",  # a digit too many
        "0112345678",
        "0012345678",
        "0502345678",  # 050 is not allocated
        "01112345678",  # 011x was never a mobile prefix
        "01302345678",
        "123",
        "0",
        0,
        "không có",
        "chưa cập nhật",
        "-",
        "x",
        "9.1234567890E+09",  # a Vietnamese mobile has nine national digits
        "9.123456789E+08",  # not an integer
        -912345678,
        912345678.5,
        float("inf"),
        True,
        False,
        "+84",
        "0084",
    ],
)
def test_invalid(raw: object) -> None:
    assert normalize_phone(raw) == PhoneResult(None, INVALID)


@pytest.mark.parametrize("raw", ["+33 1 23 45 67 89", "+1 (202) 555-0143", "+855 12 345 678"])
def test_foreign_numbers(raw: str) -> None:
    assert normalize_phone(raw) == PhoneResult(None, NOT_VIETNAMESE)


@pytest.mark.parametrize("raw", ["9.12346E+08", "9,12346E+08", "9.1234567E+08", "9E+08"])
def test_excel_rounded_scientific_notation_is_refused(raw: str) -> None:
    # Binding a rounded number would send login codes to a stranger.
    assert normalize_phone(raw) == PhoneResult(None, EXCEL_ROUNDED)


@pytest.mark.parametrize("raw", [None, "", " ", "\t\n", "\u00a0", "\u3000", float("nan")])
def test_missing(raw: object) -> None:
    result = normalize_phone(raw)
    assert result == PhoneResult(None, None)
    assert result.missing
    assert not result.ok


def test_result_shape() -> None:
    good = normalize_phone("0912345678")
    bad = normalize_phone("028 3829 1234")
    assert good.ok and not good.missing and good.problem is None
    assert not bad.ok and not bad.missing and bad.e164 is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        good.e164 = "+84987654321"  # type: ignore[misc]
    for problem in (INVALID, NOT_MOBILE, NOT_VIETNAMESE, EXCEL_ROUNDED):
        assert problem == problem.strip() and not problem.isascii()  # Vietnamese, diacritics


@given(
    st.one_of(
        st.none(),
        st.text(),
        st.text(alphabet="0123456789 +.-()/,;xEe"),
        st.integers(),
        st.floats(),
    )
)
def test_never_raises_and_exactly_one_field_is_set(raw: object) -> None:
    result = normalize_phone(raw)
    assert isinstance(result, PhoneResult)
    if result.missing:
        assert result.e164 is None and result.problem is None
    else:
        assert (result.e164 is None) != (result.problem is None)
    if result.e164 is not None:
        assert oracle(result.e164).e164 == result.e164


# --- the memoised fast path agrees with phonenumbers ---------------------------------------


def test_validity_depends_only_on_first_four_digits_and_length() -> None:
    """The memo key is sound: for every national prefix 0xx–0xxxx, at every length,
    a number answered from the memo gets the same verdict as a full parse."""
    rng = random.Random(84)
    phone._KINDS.clear()
    checked = 0
    for first4 in range(1000, 10000):
        # Mobiles have nine national digits; other lengths decide "landline" vs "invalid".
        for length in (9, rng.choice((7, 8, 10))):
            # One random number fills the memo entry; a second one is answered from it.
            for _ in range(2):
                national = str(first4) + "".join(rng.choices("0123456789", k=length - 4))
                expected = oracle("0" + national)
                kind = phone._kind(national)
                got = {phone._MOBILE: None, phone._OTHER_VALID: NOT_MOBILE}.get(kind, INVALID)
                assert got == expected.problem, national
                checked += 1
    assert checked == 9000 * 2 * 2
    mobiles = {key for key, kind in phone._KINDS.items() if kind == phone._MOBILE}
    assert {length for _, length in mobiles} == {9}


def test_public_function_agrees_with_phonenumbers_on_random_numbers() -> None:
    rng = random.Random(2018)
    old = {"0" + k: "0" + v for k, v in phone._OLD_PREFIXES.items()}
    for _ in range(4000):
        length = rng.choice((9, 10, 10, 10, 11))
        raw = "0" + rng.choice("123456789") + "".join(rng.choices("0123456789", k=length - 2))
        converted = old[raw[:4]] + raw[4:] if len(raw) == 11 and raw[:4] in old else raw
        expected = oracle(converted)
        assert normalize_phone(raw) == expected, raw
        if expected.ok:
            assert normalize_phone("+84" + raw[1:]) == expected
            assert normalize_phone(int(raw)) == expected


def test_ordinary_numbers_plain_and_spaced_agree_with_phonenumbers() -> None:
    """The numbers bench/phone.py times (its speed is measured there, against a baseline
    of the same run): each, plain or spaced as people type it, is the mobile that
    phonenumbers says it is."""
    rng = random.Random(7)
    checked = 0
    while checked < 10_000:
        national = "0" + rng.choice("35789") + "".join(rng.choices("0123456789", k=8))
        expected = oracle(national)
        if not expected.ok:
            continue
        assert normalize_phone(national) == expected, national
        spaced = f"{national[:4]} {national[4:7]} {national[7:]}"
        assert normalize_phone(spaced) == expected, spaced
        checked += 1


# --- display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "shown"),
    [("+84912345678", "0912 345 678"), ("+84362345678", "0362 345 678")],
)
def test_format_local(e164: str, shown: str) -> None:
    assert format_local(e164) == shown
    assert normalize_phone(shown).e164 == e164


@pytest.mark.parametrize("bad", ["0912345678", "+8491234567", "+33123456789", "+84 912345678"])
def test_format_local_refuses_other_input(bad: str) -> None:
    with pytest.raises(ValueError):
        format_local(bad)
