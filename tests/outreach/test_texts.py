"""What an SMS can hold: GSM-7 against UCS-2, parts, and our texts always fitting one."""

from __future__ import annotations

import pytest

from provisioning.outreach import texts


def test_vietnamese_with_diacritics_is_ucs2_of_70_and_plain_text_gsm7_of_160():
    assert texts.segments("a" * 160) == 1 and texts.segments("a" * 161) == 2
    assert texts.segments("a" * 306) == 2 and texts.segments("a" * 307) == 3  # parts of 153
    assert texts.segments("đ" * 70) == 1 and texts.segments("đ" * 71) == 2
    assert texts.segments("ê" * 134) == 2 and texts.segments("ê" * 135) == 3  # parts of 67
    assert texts.segments("Nghỉ học") == 1 and not texts.is_gsm7("Nghỉ học")
    # the extension table costs two septets; characters outside both make it UCS-2
    assert texts.length("[x]") == 5 and texts.segments("{" * 80) == 1
    assert texts.segments("{" * 81) == 2
    assert texts.length("😀") == 2  # a UTF-16 surrogate pair


def test_without_diacritics_keeps_the_case_and_leaves_only_gsm7():
    plain = texts.without_diacritics("Đỗ Văn Dậy “KHẨN” – ưu tiên… · 08/12")
    assert plain == 'Do Van Day "KHAN" - uu tien... - 08/12'
    assert texts.is_gsm7(plain)


URL = "https://dieuhanh.hcm.edu.vn/_dieuhanh/dang-nhap"


def test_the_invitation_names_the_page_and_fits_one_sms_without_a_code():
    text = texts.invitation(URL)
    assert URL in text and texts.segments(text) == 1 and texts.is_gsm7(text)
    assert "Element" in text and "SDT" in text
    assert not any(c.isdigit() for c in text.replace(URL, ""))  # no code in it
    longer = texts.invitation("https://dieuhanh.sogddt.hochiminhcity.gov.vn/_dieuhanh/dang-nhap")
    assert texts.segments(longer) == 1 and "lay ma dang nhap tai" in longer  # shorter wording
    with pytest.raises(texts.TextTooLong, match=r"sms\.login_page_url"):
        texts.invitation("https://" + "a" * 120 + ".vn/_dieuhanh/dang-nhap")


def test_a_short_fallback_keeps_its_diacritics_a_long_one_loses_them_and_is_cut():
    short = texts.fallback("K7QMA", "Thông báo", "Sở GD&ĐT", "Nghỉ học", urgent=True)
    assert short == "KHẨN · Sở GD&ĐT · Thông báo mã K7QMA: Nghỉ học. Xem đủ trên Element."
    assert texts.length(short) <= texts.UCS2_SINGLE
    body = (
        "Do ảnh hưởng của bão số 15, toàn bộ học sinh các trường trên địa bàn thành phố "
        "nghỉ học ngày 08/12/2026. Các trường thông báo cho phụ huynh trước 20:00."
    )
    long = texts.fallback("K7QMA", "Thông báo", "THCS Đỗ Văn Dậy", body, urgent=True)
    assert long.startswith("KHAN - THCS Do Van Day - Thong bao ma K7QMA: Do anh huong cua bao")
    assert long.endswith("... Xem du tren Element.")
    assert texts.is_gsm7(long) and texts.segments(long) == 1
    assert texts.length(long) > 140  # as much of the content as fits
    plain = texts.fallback("AB2CD", "Văn bản", "Sở GD&ĐT", "V/v kiểm tra", urgent=False)
    assert plain.startswith("Sở GD&ĐT · Văn bản mã AB2CD: ")


def test_a_very_long_unit_name_gives_way_to_the_content():
    unit = "Trường Trung học cơ sở và Trung học phổ thông Nguyễn Thị Minh Khai " * 2
    text = texts.fallback("K7QMA", "Thông báo", unit, "Họp khẩn lúc 14:00. " * 10, urgent=True)
    assert text.startswith("KHAN - Thong bao ma K7QMA: Hop khan") and texts.segments(text) == 1
