"""The communes of Thành phố Hồ Chí Minh, whose names and numbers the demo's units and
schools carry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from provisioning.text import fold

# The 168 xã, phường and đặc khu of Thành phố Hồ Chí Minh since 1/7/2025, in the order of
# the former districts and provinces ("P" phường, "X" xã, "Đ" đặc khu).
_COMMUNES_TEXT = """
P Sài Gòn, Tân Định, Bến Thành, Cầu Ông Lãnh, Bàn Cờ, Xuân Hòa, Nhiêu Lộc, Xóm Chiếu,
  Khánh Hội, Vĩnh Hội, Chợ Quán, An Đông, Chợ Lớn, Bình Tây, Bình Tiên, Bình Phú, Phú Lâm,
  Tân Thuận, Phú Thuận, Tân Mỹ, Tân Hưng, Chánh Hưng, Phú Định, Bình Đông, Diên Hồng,
  Vườn Lài, Hòa Hưng, Minh Phụng, Bình Thới, Hòa Bình, Phú Thọ, Đông Hưng Thuận,
  Trung Mỹ Tây, Tân Thới Hiệp, Thới An, An Phú Đông, An Lạc, Tân Tạo, Bình Tân,
  Bình Trị Đông, Bình Hưng Hòa, Gia Định, Bình Thạnh, Bình Lợi Trung, Thạnh Mỹ Tây,
  Bình Quới, Hạnh Thông, An Nhơn, Gò Vấp, An Hội Đông, Thông Tây Hội, An Hội Tây,
  Đức Nhuận, Cầu Kiệu, Phú Nhuận, Tân Sơn Hòa, Tân Sơn Nhất, Tân Hòa, Bảy Hiền, Tân Bình,
  Tân Sơn, Tây Thạnh, Tân Sơn Nhì, Phú Thọ Hòa, Tân Phú, Phú Thạnh, Hiệp Bình, Thủ Đức,
  Tam Bình, Linh Xuân, Tăng Nhơn Phú, Long Bình, Long Phước, Long Trường, Cát Lái,
  Bình Trưng, Phước Long, An Khánh
X Vĩnh Lộc, Tân Vĩnh Lộc, Bình Lợi, Tân Nhựt, Bình Chánh, Hưng Long, Bình Hưng,
  Bình Khánh, An Thới Đông, Cần Giờ, Thạnh An, Củ Chi, Tân An Hội, Thái Mỹ, An Nhơn Tây,
  Nhuận Đức, Phú Hòa Đông, Bình Mỹ, Đông Thạnh, Hóc Môn, Xuân Thới Sơn, Bà Điểm, Nhà Bè,
  Hiệp Phước
P Thủ Dầu Một, Phú Lợi, Bình Dương, Chánh Hiệp, Phú An, Dĩ An, Đông Hòa, Tân Đông Hiệp,
  Thuận An, Thuận Giao, Bình Hòa, Lái Thiêu, An Phú, Tân Uyên, Tân Hiệp, Tân Khánh,
  Vĩnh Tân, Bình Cơ, Bến Cát, Chánh Phú Hòa, Tây Nam, Long Nguyên, Thới Hòa, Hòa Lợi
X Bắc Tân Uyên, Thường Tân, Bàu Bàng, Trừ Văn Thố, Dầu Tiếng, Minh Thạnh, Long Hòa,
  Thanh An, Phú Giáo, Phước Thành, Phước Hòa, An Long
P Vũng Tàu, Tam Thắng, Rạch Dừa, Phước Thắng, Bà Rịa, Long Hương, Tam Long, Phú Mỹ,
  Tân Thành, Tân Phước, Tân Hải
X Long Sơn, Long Hải, Long Điền, Đất Đỏ, Phước Hải, Ngãi Giao, Kim Long, Bình Giã,
  Xuân Sơn, Nghĩa Thành, Châu Pha, Châu Đức, Xuyên Mộc, Hòa Hiệp, Bình Châu, Hồ Tràm,
  Bàu Lâm, Hòa Hội
Đ Côn Đảo
"""

_COMMUNE_KIND = {
    "P": ("Phường", "phường", "px"),
    "X": ("Xã", "xã", "xa"),
    "Đ": ("Đặc khu", "đặc khu", "dk"),
}


@dataclass(frozen=True)
class Commune:
    number: int  # 1-based position among the city's 168, used in school codes
    name: str  # "Tân Định"
    title: str  # "Phường Tân Định"
    lower: str  # "phường Tân Định", as written inside a sentence or a school's name
    code: str  # "px-tan-dinh"
    slug: str  # "tandinh"


def _parse_communes() -> list[Commune]:
    communes: list[Commune] = []
    for block in re.split(r"\n(?=\S)", _COMMUNES_TEXT.strip()):
        kind, names = block.split(" ", 1)
        title, lower, prefix = _COMMUNE_KIND[kind]
        for raw in names.split(","):
            name = " ".join(raw.split())
            slug = fold(name).replace(" ", "-")
            taken = {c.code for c in communes}
            if f"{prefix}-{slug}" in taken:  # Thạnh An and Thanh An fold alike
                slug = f"{slug}-{len(communes) + 1}"
            communes.append(
                Commune(
                    number=len(communes) + 1,
                    name=name,
                    title=f"{title} {name}",
                    lower=f"{lower} {name}",
                    code=f"{prefix}-{slug}",
                    slug=slug.replace("-", ""),
                )
            )
    return communes


COMMUNES: tuple[Commune, ...] = tuple(_parse_communes())
COMMUNE_BY_NAME = {c.name: c for c in COMMUNES}
assert len(COMMUNES) == 168 and len(COMMUNE_BY_NAME) == 168
assert len({c.code for c in COMMUNES}) == 168
