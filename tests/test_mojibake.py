"""Mojibake detection: legacy Vietnamese encodings (TCVN3, VNI) and UTF-8 read as cp1252.

The legacy text is generated here from correct names with the encoders' own tables,
so every name below is checked in both directions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest

from provisioning.mojibake import looks_like_mojibake

# Real people (teachers, officials, the people schools are named after) and units.
PEOPLE = [
    "Nguyễn Văn An",
    "Trần Thị Bích Ngọc",
    "Lê Hoàng Long",
    "Phạm Quốc Hoà",
    "Hoàng Thị Thu Hà",
    "Huỳnh Thị Ngọc Ánh",
    "Phan Văn Khải",
    "Vũ Đức Thắng",
    "Võ Thị Sáu",
    "Đặng Thuỳ Trâm",
    "Bùi Xuân Phái",
    "Đỗ Văn Dậy",
    "Hồ Xuân Hương",
    "Ngô Bảo Châu",
    "Dương Thị Hằng",
    "Lý Công Uẩn",
    "Đinh Bộ Lĩnh",
    "Đoàn Thị Điểm",
    "Lâm Quang Thiện",
    "Trương Định",
    "Mai Hắc Đế",
    "Tô Hoài",
    "Cao Bá Quát",
    "Lương Thế Vinh",
    "Trịnh Công Sơn",
    "Hà Huy Tập",
    "Quách Thị Trang",
    "Lại Văn Sâm",
    "Tạ Quang Bửu",
    "Triệu Thị Trinh",
    "Thái Văn Lung",
    "Khúc Thừa Dụ",
    "Chu Văn An",
    "Kiều Thị Loan",
    "Âu Cơ",
    "Ông Văn Tùng",
    "Ứng Thị Hiền",
    "Đàm Vĩnh Hưng",
    "Phùng Khắc Khoan",
    "Lưu Hữu Phước",
    "Thân Nhân Trung",
    "Vương Đình Huệ",
    "Tăng Bạt Hổ",
    "La Văn Cầu",
    "Tống Thị Phương",
    "Nghiêm Xuân Yêm",
    "Mạc Đĩnh Chi",
    "Giang Văn Minh",
    "Khổng Minh Dụ",
    "Ninh Văn Bảy",
    "Hứa Thị Kim Oanh",
    "Doãn Quốc Sỹ",
    "Diệp Minh Châu",
    "Châu Văn Liêm",
    "Từ Thị Mỹ Linh",
    "Lữ Gia Bảo",
    "Nguyễn Thị Minh Khai",
    "Nguyễn Thị Thu Hoài",
    "Nguyễn Thị Định",
    "Nguyễn Trãi",
    "Nguyễn Du",
    "Nguyễn Đình Chiểu",
    "Nguyễn Bỉnh Khiêm",
    "Nguyễn Khuyến",
    "Nguyễn Văn Trỗi",
    "Nguyễn Văn Cừ",
    "Nguyễn Văn Linh",
    "Nguyễn Hữu Thọ",
    "Nguyễn Thái Học",
    "Nguyễn Chí Thanh",
    "Nguyễn Thị Ngọc Diễm",
    "Nguyễn Thị Cẩm Tú",
    "Nguyễn Thị Tuyết Mai",
    "Nguyễn Thị Quỳnh Như",
    "Nguyễn Ngọc Kỳ",
    "Nguyễn Văn Lộc",
    "Nguyễn Thị Mẫn",
    "Nguyễn Hoàng Yến",
    "Nguyễn Thanh Tùng",
    "Nguyễn Đức Cảnh",
    "Nguyễn Thị Hường",
    "Nguyễn Thị Ửng",
    "Nguyễn Minh Triết",
    "Nguyễn Phú Trọng",
    "Nguyễn Xuân Phúc",
    "Nguyễn Tấn Dũng",
    "Nguyễn Khoa Điềm",
    "Nguyễn Quang Sáng",
    "Nguyễn Thị Lựu",
    "Nguyễn Thị Huệ",
    "Trần Hưng Đạo",
    "Trần Quốc Toản",
    "Trần Nhân Tông",
    "Trần Phú",
    "Trần Đại Nghĩa",
    "Trần Văn Ơn",
    "Trần Thị Thuỷ",
    "Trần Thị Thuỵ Vy",
    "Trần Bảo Ngân",
    "Trần Thị Kim Cúc",
    "Trần Thanh Tâm",
    "Trần Văn Giàu",
    "Trần Thị Huyền Trân",
    "Trần Quang Khải",
    "Trần Văn Thời",
    "Lê Lợi",
    "Lê Quý Đôn",
    "Lê Thánh Tông",
    "Lê Văn Tám",
    "Lê Thị Hồng Gấm",
    "Lê Duẩn",
    "Lê Hồng Phong",
    "Lê Anh Xuân",
    "Lê Thị Riêng",
    "Lê Ngọc Hân",
    "Lê Văn Hưu",
    "Lê Thị Phượng",
    "Lê Đức Thọ",
    "Phạm Văn Đồng",
    "Phạm Ngũ Lão",
    "Phạm Hồng Thái",
    "Phạm Thị Xuân Quỳnh",
    "Phạm Thị Ngọc Thảo",
    "Phạm Tuân",
    "Phạm Văn Chiêu",
    "Phạm Ngọc Thạch",
    "Phạm Thị Lụa",
    "Phạm Thị Yến Nhi",
    "Hoàng Hoa Thám",
    "Hoàng Văn Thụ",
    "Hoàng Diệu",
    "Hoàng Thị Loan",
    "Hoàng Quốc Việt",
    "Huỳnh Thúc Kháng",
    "Huỳnh Tấn Phát",
    "Huỳnh Văn Nghệ",
    "Huỳnh Thị Bảo Hoà",
    "Phan Bội Châu",
    "Phan Chu Trinh",
    "Phan Đình Phùng",
    "Phan Đăng Lưu",
    "Phan Thị Ràng",
    "Phan Huy Ích",
    "Võ Nguyên Giáp",
    "Võ Văn Kiệt",
    "Võ Thị Hảo",
    "Võ Trường Toản",
    "Võ Thị Mỹ Hạnh",
    "Vũ Trọng Phụng",
    "Vũ Thị Thục",
    "Vũ Hữu Lợi",
    "Đặng Thai Mai",
    "Đặng Văn Ngữ",
    "Đặng Trần Côn",
    "Đặng Thị Ngọc Trâm",
    "Bùi Thị Xuân",
    "Bùi Viện",
    "Bùi Thị Cúc",
    "Đỗ Mười",
    "Đỗ Nhuận",
    "Đỗ Thị Thu Trang",
    "Đỗ Đức Dục",
    "Hồ Tùng Mậu",
    "Hồ Văn Huê",
    "Hồ Thị Kỷ",
    "Ngô Quyền",
    "Ngô Sĩ Liên",
    "Ngô Thì Nhậm",
    "Ngô Gia Tự",
    "Ngô Thị Thanh Hằng",
    "Dương Quảng Hàm",
    "Dương Văn Nga",
    "Đinh Tiên Hoàng",
    "Đinh Núp",
    "Đinh Thị Vân",
    "Lương Văn Can",
    "Lương Định Của",
    "Trương Vĩnh Ký",
    "Trương Hán Siêu",
    "Trương Thị Ẩn",
    "Mai Xuân Thưởng",
    "Mai Thị Ánh Tuyết",
    "Tôn Đức Thắng",
    "Tôn Thất Tùng",
    "Tôn Nữ Thị Ninh",
    "Cao Thắng",
    "Cao Xuân Huy",
    "Phùng Hưng",
    "Kiều Thị Thuý Kiều",
    "Châu Thị Hải Yến",
    "Quan Âm Thị Kính",
    "Đào Duy Từ",
    "Đào Duy Anh",
    "Đào Tấn",
    "Tạ Thị Kiều",
    "Lã Văn Cầu",
    "Hà Thị Khiết",
    "Lưu Trọng Lư",
    "Nông Văn Dền",
    "Nông Thị Xuân",
    "Lò Văn Giá",
    "Hoàng Văn Thái",
    "Y Ngông Niê Kđăm",
    "Khuê",
    "Huỳnh Ngọc Oanh",
    "Phạm Thị Thu Thuỷ",
    "Nguyễn Thị Kim Phượng",
    "Trần Minh Khôi",
    "Lê Khánh Hưng",
    "Đoàn Thị Thu Hiền",
    "Nguyễn Ngọc Ẩn",
    "Bế Văn Đàn",
    "Bạch Thái Bưởi",
    "Cù Chính Lan",
    "Kim Đồng",
    "Tô Vĩnh Diện",
    "Hà Huy Giáp",
    "Tố Hữu",
    "Xuân Diệu",
    "Thạch Lam",
    "Phạm Quốc Hòa",
    "Nguyễn Thị Thúy",
    "Lê Thị Thùy Dung",
    "Hoàng Thị Hòe",
    "Trần Thị Thủy Tiên",
    "Nguyễn Văn Hoè",
    "Đặng Thị Khoẻ",
    "Lê Văn Quý",
]

UNITS = [
    "Trường THCS Đỗ Văn Dậy",
    "Trường THCS Nguyễn Thị Minh Khai",
    "Trường Mầm non Hoa Sen 2",
    "Trường Mầm non Sơn Ca",
    "Trường Mầm non Họa Mi",
    "Trường Mầm non Tuổi Thơ",
    "Trường Mầm non Bông Sen",
    "Trường Mầm non Vành Khuyên",
    "Trường Tiểu học Bế Văn Đàn",
    "Trường Tiểu học Kim Đồng",
    "Trường Tiểu học Lê Văn Tám",
    "Trường Tiểu học Nguyễn Văn Trỗi",
    "Trường Tiểu học Phù Đổng",
    "Trường Tiểu học Trần Quốc Toản",
    "Trường Tiểu học Thới Tam Thôn",
    "Trường Tiểu học Ấp Đình",
    "Trường THCS Tân Xuân",
    "Trường THCS Phan Công Hớn",
    "Trường THCS Lý Chính Thắng",
    "Trường THCS Trưng Nữ Vương",
    "Trường THCS Xuân Thới Thượng",
    "Trường THCS Đông Thạnh",
    "Trường THCS Nguyễn Hồng Đào",
    "Trường THPT Bà Điểm",
    "Trường THPT Nguyễn Hữu Cầu",
    "Trường THPT Hồ Thị Bi",
    "Trường THPT Lý Thường Kiệt",
    "Trường THPT Trần Đại Nghĩa",
    "Trường THPT Chuyên Lê Hồng Phong",
    "Trường THPT Chuyên Hà Nội - Amsterdam",
    "Trường THPT Thủ Đức",
    "Trường THPT Phú Nhuận",
    "Trường THPT Việt Đức",
    "Trường THPT Chu Văn An",
    "Trường THPT Nguyễn Thượng Hiền",
    "Trường THPT Gia Định",
    "Trường THPT Marie Curie",
    "Trường Trung học Thực hành Sài Gòn",
    "Trường Tiểu học, THCS và THPT Đinh Thiện Lý",
    "Trường Liên cấp Ngôi Sao Hà Nội",
    "Trường Phổ thông Dân tộc Nội trú tỉnh Đắk Lắk",
    "Trường Phổ thông Dân tộc Bán trú Tiểu học Pà Cò",
    "Trung tâm Giáo dục thường xuyên quận Hoàn Kiếm",
    "Trung tâm GDNN-GDTX huyện Hóc Môn",
    "Trường Cao đẳng Sư phạm Trung ương",
    "Trường Đại học Sư phạm Thành phố Hồ Chí Minh",
    "Trường Đại học Sư phạm Hà Nội",
    "Sở Giáo dục và Đào tạo Thành phố Hồ Chí Minh",
    "Sở Giáo dục và Đào tạo tỉnh Thừa Thiên Huế",
    "Sở Giáo dục và Đào tạo tỉnh Bà Rịa - Vũng Tàu",
    "Phòng Giáo dục và Đào tạo huyện Hóc Môn",
    "Phòng Giáo dục và Đào tạo quận Gò Vấp",
    "Phòng Giáo dục và Đào tạo thị xã Sơn Tây",
    "Uỷ ban nhân dân xã Xuân Thới Sơn",
    "Uỷ ban nhân dân phường Bến Nghé",
    "Cụm trường Tiểu học số 3",
    "Tổ Ngữ văn",
    "Tổ Toán - Tin học",
    "Tổ Khoa học tự nhiên",
    "Tổ Lịch sử - Địa lý",
    "Tổ Giáo dục thể chất",
    "Tổ Mỹ thuật - Âm nhạc",
    "Tổ Văn phòng",
]

WORDS = [
    "bồng ẵm",
    "vẽ tranh",
    "bẻ cành",
    "mẹ hiền",
    "nhỏ nhẹ",
    "ngỡ ngàng",
    "chỉ bảo",
    "ẩm ướt",
    "bữa trưa",
    "lưỡi",
    "ẻo lả",
]

CORRECT = PEOPLE + UNITS + WORDS

FOREIGN = [
    "Marie Curie", "O'Brien", "O’Brien", "Jean-Pierre", "John Smith", "McDonald", "DiCaprio",
    "Anne-Marie Dupont", "Yves Saint", "Kim Jong", "Raúl", "José", "André", "Hélène", "Jérôme",
    "Chloé", "Inés", "Ángel", "Sofía", "María José", "João", "Dvořák", "Łukasz", "Ştefan",
]  # fmt: skip

TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none grave acute hook tilde dot
VIETNAMESE_LOWER = [
    unicodedata.normalize("NFC", vowel + tone) for vowel in "aăâeêioôơuưy" for tone in TONES
] + ["đ"]
VIETNAMESE_LETTERS = VIETNAMESE_LOWER + [c.upper() for c in VIETNAMESE_LOWER]


# --- encoders --------------------------------------------------------------------------------

# TCVN3 (ABC): one byte per lower-case letter; tones in the order of TONES.
TCVN3_ROWS = {
    "a": "61 b5 b8 b6 b7 b9", "ă": "a8 bb be bc bd c6", "â": "a9 c7 ca c8 c9 cb",
    "e": "65 cc d0 ce cf d1", "ê": "aa d2 d5 d3 d4 d6", "i": "69 d7 dd d8 dc de",
    "o": "6f df e3 e1 e2 e4", "ô": "ab e5 e8 e6 e7 e9", "ơ": "ac ea ed eb ec ee",
    "u": "75 ef f3 f1 f2 f4", "ư": "ad f5 f8 f6 f7 f9", "y": "79 fa fd fb fc fe",
}  # fmt: skip
TCVN3: dict[str, int] = {"đ": 0xAE, "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5,
                         "Ư": 0xA6, "Đ": 0xA7}  # fmt: skip
for _base, _codes in TCVN3_ROWS.items():
    for _tone, _code in zip(TONES, _codes.split(), strict=True):
        _letter = unicodedata.normalize("NFC", _base + _tone)
        if not _letter.isascii():
            TCVN3[_letter] = int(_code, 16)
            # TCVN3 has no toned capitals: they are typed as the lower-case code and
            # shown with a capitals font (".VnTimeH").
            TCVN3.setdefault(_letter.upper(), int(_code, 16))

# VNI-Windows: ASCII base letter + mark characters; tones: none acute grave hook tilde dot.
VNI_ROWS = {
    "a": "a aù aø aû aõ aï", "â": "aâ aá aà aå aã aä", "ă": "aê aé aè aú aü aë",
    "e": "e eù eø eû eõ eï", "ê": "eâ eá eà eå eã eä",
    "o": "o où oø oû oõ oï", "ô": "oâ oá oà oå oã oä", "ơ": "ô ôù ôø ôû ôõ ôï",
    "u": "u uù uø uû uõ uï", "ư": "ö öù öø öû öõ öï",
    "i": "i í ì æ ó ò", "y": "y yù yø yû yõ î",
}  # fmt: skip
VNI: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
for _base, _codes in VNI_ROWS.items():
    for _tone, _code in zip(("", *"\u0301\u0300\u0309\u0303\u0323"), _codes.split(), strict=True):
        _letter = unicodedata.normalize("NFC", _base + _tone)
        VNI[_letter] = _code
        VNI[_letter.upper()] = _code.upper()  # "Ánh" → "AÙnh"


def tcvn3(text: str) -> str:
    """``text`` typed in a TCVN3 font, then read as Windows-1252."""
    data = bytes(TCVN3[c] if c in TCVN3 else ord(c) for c in unicodedata.normalize("NFC", text))
    return data.decode("cp1252")


def vni(text: str) -> str:
    """``text`` typed in a VNI-Windows font, then read as Windows-1252."""
    return "".join(VNI.get(c, c) for c in unicodedata.normalize("NFC", text))


def utf8_as(codec: str) -> Callable[[str], str]:
    """UTF-8 bytes read as ``codec``; bytes cp1252 leaves undefined become C1 controls."""

    def encode(text: str) -> str:
        out = []
        for byte in unicodedata.normalize("NFC", text).encode():
            try:
                out.append(bytes([byte]).decode(codec))
            except UnicodeDecodeError:
                out.append(chr(byte))
        return "".join(out)

    return encode


ENCODERS: dict[str, Callable[[str], str]] = {
    "TCVN3": tcvn3,
    "VNI": vni,
    "UTF-8 as cp1252": utf8_as("cp1252"),
    "UTF-8 as Latin-1": utf8_as("latin-1"),
}


def spellings(text: str) -> list[str]:
    return list(dict.fromkeys([text, text.upper(), text.lower()]))


# --- the encoders are right ------------------------------------------------------------------


def test_encoders_reproduce_known_mojibake() -> None:
    assert tcvn3("Nguyễn Văn An") == "NguyÔn V¨n An"
    assert tcvn3("Trường THCS Đỗ Văn Dậy") == "Tr\xadêng THCS §ç V¨n DËy"
    assert tcvn3("Hoàng Phạm Lê") == "Hoµng Ph¹m Lª"
    assert vni("Nguyễn Văn An") == "Nguyeãn Vaên An"
    assert vni("Trường THCS Đỗ Văn Dậy") == "Tröôøng THCS Ñoã Vaên Daäy"
    assert vni("ĐỖ VĂN DẬY") == "ÑOÃ VAÊN DAÄY"
    assert vni("Xin chào các bạn") == "Xin chaøo caùc baïn"
    assert utf8_as("cp1252")("Nguyễn Văn An") == "Nguyá»…n VÄƒn An"


def test_encoder_tables_cover_every_vietnamese_letter() -> None:
    assert len(VIETNAMESE_LETTERS) == 2 * (12 * 6 + 1)
    assert set(VIETNAMESE_LETTERS) <= set(TCVN3) | set("AEIOUYaeiouy")
    assert set(VIETNAMESE_LETTERS) <= set(VNI) | set("AEIOUYaeiouy")
    lower = {c: TCVN3[c] for c in VIETNAMESE_LOWER if c in TCVN3}
    assert len(set(lower.values())) == len(lower)  # one code per lower-case letter


# --- the test data are what the brief asks for -----------------------------------------------


def test_name_lists() -> None:
    assert len(PEOPLE) + len(UNITS) >= 200
    assert len(set(CORRECT)) == len(CORRECT)
    for text in CORRECT:
        assert text == unicodedata.normalize("NFC", text).strip()
    names = " ".join(PEOPLE + UNITS)
    for letter in "ăâđêôơư":
        assert letter in names, letter
    marks = set(unicodedata.normalize("NFD", names))
    assert set(TONES[1:]) <= marks
    everything = " ".join(CORRECT).lower()
    assert [c for c in VIETNAMESE_LOWER if c not in everything] == []


# --- correct text is never flagged -----------------------------------------------------------


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_correct_vietnamese_is_not_mojibake(form: str) -> None:
    flagged = [
        text
        for correct in CORRECT
        for text in spellings(correct)
        if looks_like_mojibake(unicodedata.normalize(form, text))
    ]
    assert flagged == []


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_every_vietnamese_letter_in_a_syllable(form: str) -> None:
    for letter in VIETNAMESE_LOWER:
        words = [f"t{letter}n", f"T{letter}n", f"T{letter}N".upper()]
        if letter not in "yỳýỷỹỵ":  # no Vietnamese word starts with y + consonant
            words += [f"{letter}m", f"{letter}m".capitalize(), f"{letter}m".upper()]
        for word in words:
            assert not looks_like_mojibake(unicodedata.normalize(form, word)), word


@pytest.mark.parametrize("name", FOREIGN)
def test_foreign_names_are_not_mojibake(name: str) -> None:
    assert not looks_like_mojibake(name)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Nguyen Van An",
        "Nguyễn Văn An · GV · THCS Đỗ Văn Dậy",  # display name with middle dots
        "Ðỗ Văn Dậy",  # U+00D0 typed for Đ
        "Trường THCS Nguyễn Du – cơ sở 2",
        "Trường “Hoa Sen”",
        "Trần\u00a0Thị\u00a0Lan",
        "Lê Thị Hà\u00a0",
    ],
)
def test_other_correct_text(text: str) -> None:
    assert not looks_like_mojibake(text)


# --- legacy encodings are flagged ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "NguyÔn V¨n An",
        "Tr\xadêng THCS §ç V¨n DËy",
        "Nguyeãn Vaên An",
        "Tröôøng THCS Ñoã Vaên Daäy",
        "Nguyá»…n VÄƒn An",
        "NGUYEÃN VAÊN AN",
        "Hoµng Ph¹m Lª",
        "PhÐp",
        "TrÇn",
        "Trần Thị Hồng\ufffd",
        "Trần Thị Hồng\x81",
    ],
)
def test_examples(text: str) -> None:
    assert looks_like_mojibake(text)
    assert looks_like_mojibake(unicodedata.normalize("NFD", text))


# TCVN3 spells these three words as other correct Vietnamese syllables: "Khóc Thõa Dô".
KNOWN_MISSES = {("TCVN3", "Khúc Thừa Dụ"), ("TCVN3", "khúc thừa dụ")}


def test_legacy_encodings_of_every_name_are_detected() -> None:
    missed = set()
    checked = 0
    for correct in CORRECT:
        for text in spellings(correct):
            for encoding, encode in ENCODERS.items():
                legacy = encode(text)
                if legacy == text:  # pure ASCII ("Lan"), or TCVN3 "Lý"
                    continue
                checked += 1
                if not looks_like_mojibake(legacy):
                    missed.add((encoding, text))
    assert missed == KNOWN_MISSES
    assert checked > 3000


def test_names_with_letters_vietnamese_lacks_are_reported() -> None:
    # A documented limit: these letters are exactly what the legacy encodings produce.
    for name in ("Müller", "François", "Noël", "Muñoz", "Søren"):
        assert looks_like_mojibake(name)


# Its speed is measured by bench/mojibake.py, against a baseline of the same run.
