"""The words the demo's names are made of: people's family, middle and given names, and
what schools are named after."""

from __future__ import annotations

from provisioning.vocab import Level


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """A word list written as one string: ``words("An Bình")`` → ("An", "Bình")."""
    return tuple(text.split(sep))


# Family names with their approximate share (per cent) in the South.
FAMILY = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 6.0, "Huỳnh": 3.6, "Hoàng": 2.2,
    "Phan": 4.4, "Võ": 3.6, "Vũ": 1.8, "Đặng": 2.0, "Bùi": 1.9, "Đỗ": 1.5, "Hồ": 1.4,
    "Ngô": 1.3, "Dương": 1.0, "Lý": 0.7, "Trương": 1.3, "Đinh": 0.6, "Lâm": 0.7, "Mai": 0.5,
    "Đào": 0.5, "Cao": 0.4, "Châu": 0.4, "Lương": 0.4, "Trịnh": 0.4, "Hà": 0.4, "Thái": 0.3,
    "Lưu": 0.3, "Tô": 0.3, "Tạ": 0.2, "Quách": 0.2, "Tăng": 0.2, "La": 0.2, "Kiều": 0.1,
    "Văn": 0.1, "Từ": 0.1,
}  # fmt: skip
MALE_MIDDLE = words(
    "Hữu Đức Minh Quốc Thanh Hoàng Công Ngọc Xuân Quang Duy Trọng Thành Tấn Hoài Gia Đình "
    "Anh Nhật Trung Phước Bảo Tuấn Hải Văn Thế Chí Kim Đăng Tiến Vĩnh"
)
FEMALE_MIDDLE = words(
    "Ngọc Thanh Thu Kim Hồng Minh Mỹ Bích Thúy Phương Hoàng Tuyết Diệu Khánh Như Bảo Hải "
    "Thảo Lan Quỳnh Yến Cẩm Ánh Tú Hoài Xuân Trúc Mai Thùy Vân"
)
MALE_GIVEN = words(
    "An Anh Bảo Bình Cường Dũng Duy Đạt Đức Hải Hiếu Hòa Hoàng Hùng Huy Khang Khánh Khoa "
    "Kiên Lâm Long Lộc Luân Minh Nam Nghĩa Nhân Phát Phong Phúc Quân Quang Sơn Tài Tâm Thành "
    "Thắng Thiện Thịnh Tiến Toàn Trí Trung Tuấn Tùng Việt Vinh Vũ Hưng Hậu Lợi Nhật Phước "
    "Sang Tín Tú Hiển Hiệp Định Công Chiến Danh Đông Hào Kha Lực Mạnh Nguyên Quý Tường Thái"
)
FEMALE_GIVEN = words(
    "An Anh Bích Châu Chi Diễm Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hồng Huyền Hương Hường "
    "Lan Liên Linh Loan Mai My Nga Ngân Ngọc Nhung Nhi Như Oanh Phương Phượng Quyên Tâm "
    "Thảo Thanh Thu Thủy Thư Thùy Trâm Trang Trinh Tuyết Uyên Vân Vy Yến Xuân Kiều Trúc Diệp "
    "Quỳnh Ly Hậu Lệ Mận Nguyệt Nhàn Phúc Sương Thắm Thơ Tiên Trân Tú Vi Lài Đào Hạ Khuê"
)

# --------------------------------------------------------------------------- schools

LEVEL_PREFIX = {Level.MN: "Mầm non", Level.TH: "Tiểu học", Level.THCS: "THCS", Level.THPT: "THPT"}
LEVEL_SLUG = {Level.MN: "mn", Level.TH: "th", Level.THCS: "thcs", Level.THPT: "thpt",
               Level.LC: "lc", Level.GDTX: "gdtx"}  # fmt: skip
FIGURES = words(
    "Lê Quý Đôn, Nguyễn Du, Trần Hưng Đạo, Lê Lợi, Nguyễn Trãi, Chu Văn An, Nguyễn Bỉnh Khiêm, "
    "Lê Văn Tám, Võ Thị Sáu, Kim Đồng, Nguyễn Văn Trỗi, Phan Chu Trinh, Phan Bội Châu, "
    "Quang Trung, Hai Bà Trưng, Bà Triệu, Lý Thường Kiệt, Ngô Quyền, Đinh Tiên Hoàng, "
    "Lê Hồng Phong, Trần Phú, Nguyễn Thị Minh Khai, Lương Thế Vinh, Trần Đại Nghĩa, "
    "Mạc Đĩnh Chi, Đoàn Thị Điểm, Nguyễn Khuyến, Nguyễn Đình Chiểu, Tôn Đức Thắng, "
    "Võ Trường Toản, Hùng Vương, Trưng Vương, Nguyễn Hiền, Đỗ Văn Dậy, Nguyễn An Ninh, "
    "Nguyễn Văn Tố, Huỳnh Khương Ninh, Nguyễn Thái Học, Lý Tự Trọng, Trần Quốc Toản, "
    "Nguyễn Công Trứ, Hồ Xuân Hương, Cao Bá Quát, Phan Đình Phùng, Trương Định, "
    "Nguyễn Trung Trực, Thủ Khoa Huân, Võ Văn Tần, Nguyễn Văn Cừ, Hà Huy Tập, Lê Duẩn, "
    "Trần Văn Ơn, Nguyễn Thị Định, Bùi Thị Xuân, Lê Anh Xuân, Trần Quang Khải, "
    "Phạm Ngũ Lão, Yết Kiêu, Lê Thánh Tông, Nguyễn Huệ, Ngô Thời Nhiệm, Trương Vĩnh Ký, "
    "Huỳnh Thúc Kháng, Nguyễn Thượng Hiền, Phan Văn Trị, Tô Hiến Thành, Lương Định Của, "
    "Nguyễn Văn Linh, Phạm Văn Đồng, Võ Văn Kiệt, Trần Văn Giàu, Nguyễn Hữu Cảnh, "
    "Điện Biên, Bạch Đằng, Chương Dương, Đống Đa, Hòa Bình, Độc Lập, Thống Nhất, Bình Minh, "
    "Lê Đình Chinh, Nguyễn Văn Bé, Phan Văn Khỏe, Nguyễn Thị Thập, Lê Thị Hồng Gấm, "
    "Trần Cao Vân, Mạc Cửu, Nguyễn Hữu Thọ, Phú Thọ, Nguyễn Gia Thiều, Tạ Quang Bửu, "
    "Lê Minh Xuân, Nguyễn Thị Lựu, Phan Huy Ích, Ngô Sĩ Liên, Lạc Long Quân, An Dương Vương",
    sep=", ",
)
MN_NAMES = words(
    "Hoa Sen, Hoa Mai, Hoa Hồng, Sơn Ca, Họa Mi, Vàng Anh, Bông Sen, Tuổi Thơ, Hướng Dương, "
    "Hoa Cúc, Măng Non, Búp Bê, Rạng Đông, Thỏ Ngọc, Ánh Dương, Bình Minh, Sao Mai, Hoa Lan, "
    "Hoa Phượng, Ngôi Sao, Mầm Xanh, Ban Mai, Bạch Tuyết, Hoa Đào, Hoa Thiên Lý, "
    "Tuổi Ngọc, Hoa Quỳnh, Vành Khuyên, Chim Non, Sóc Nâu, Búp Sen Hồng, Hoa Lư, "
    "Rạng Ngọc, Anh Đào, Hoa Trà My, Tường Vi, Hoa Ban, Sen Hồng, Cây Xanh, Hoa Sữa",
    sep=", ",
)
PRIVATE_NAMES = words(
    "Việt Úc, Ngôi Sao, Á Châu, Nam Mỹ, Hoàng Gia, Tuệ Đức, Trí Tuệ Việt, Minh Đức, Hồng Hà, "
    "Vĩnh Viễn, Việt Mỹ, Việt Anh, Thái Bình Dương, Đinh Thiện Lý, Quốc Văn Sài Gòn, "
    "Ngọc Viễn Đông, Văn Lang, Việt Âu, Nam Việt, Hòa Bình, Thanh Bình, Trí Đức, Phương Nam, "
    "Emasi, Vạn Hạnh, Tân Phú, Bác Ái, Đức Trí, Trường Sơn, Mùa Xuân, Khai Minh, An Đông, "
    "Việt Nhật, Sao Việt, Tuổi Trẻ, Thiên Tân, Phùng Hưng, Hermann Gmeiner, Nguyễn Khuyến, "
    "Lương Thế Vinh, Sài Gòn Star, Trần Quốc Tuấn, Hoa Sen, Nhân Văn, Bách Việt",
    sep=", ",
)
MN_PRIVATE_NAMES = words(
    "Thiên Thần Nhỏ, Ngôi Nhà Hạnh Phúc, Cầu Vồng, Bông Mai, Sao Sáng, Mặt Trời Bé Con, Bé Yêu, "
    "Ánh Sao, Tuổi Hồng, Hạnh Phúc, Việt Mỹ, Hoa Anh Đào, Bầu Trời Xanh, Vườn Xanh, Bé Ngoan, "
    "Thế Giới Trẻ Thơ, Ngôi Sao Nhỏ, Hoa Mặt Trời, Tuổi Thần Tiên, Ánh Trăng, "
    "Kỳ Diệu, Hoa Bé Ngoan, Chú Ong Vàng, Thỏ Trắng, Ngôi Nhà Trẻ Thơ, Sen Vàng, Tí Hon",
    sep=", ",
)
GDTX_NAMES = ("Chu Văn An", "Gia Định", "Lê Quý Đôn", "Thanh niên xung phong", "Tôn Đức Thắng")
LC_FORMS = (
    ("Tiểu học và THCS", 3),
    ("THCS và THPT", 4),
    ("TH, THCS và THPT", 5),
)
