"""The code request page "Lấy mã đăng nhập" and the answers it gives (Vietnamese)."""

from __future__ import annotations

from html import escape

# The answer never repeats the number: it is then byte-for-byte the same for everyone.
SENT = (
    "Nếu số điện thoại này đã được đăng ký, mã đăng nhập gồm 6 chữ số sẽ được gửi qua SMS "
    "trong ít phút. Mã có hiệu lực {minutes} phút và chỉ dùng được một lần."
)
INVALID_PHONE = "Số điện thoại không hợp lệ. Hãy nhập số di động, ví dụ 0912 345 678."
TOO_MANY = "Đã có quá nhiều yêu cầu mã. Vui lòng thử lại sau {minutes} phút."
FORM_EXPIRED = "Biểu mẫu đã hết hạn. Vui lòng tải lại trang và thử lại."
CROSS_SITE = "Yêu cầu này không đến từ trang Lấy mã đăng nhập. Vui lòng tải lại trang và thử lại."
UNAVAILABLE = "Máy chủ đang bận, chưa gửi được yêu cầu. Vui lòng thử lại sau ít phút."


def sent_message(minutes: int) -> str:
    return SENT.format(minutes=minutes)


def render(
    homeserver: str, minutes: int, token: str, answer: str | None = None, ok: bool = True
) -> str:
    """The whole page; ``token`` is the form's CSRF token; with ``answer`` it shows the
    result of a submitted form."""
    note = ""
    if answer:
        cls = "ok" if ok else "err"
        note = f'<p class="{cls}" role="status">{escape(answer)}</p>'
    return _PAGE.format(
        homeserver=escape(homeserver), minutes=minutes, answer=note, token=escape(token)
    )


_PAGE = """<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lấy mã đăng nhập — Điều hành</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       background: #f4f6f8; color: #1b1f23; }}
main {{ max-width: 28rem; margin: 0 auto; padding: 1.5rem 1rem; }}
h1 {{ font-size: 1.4rem; margin: 0 0 1rem; }}
form {{ background: #fff; border-radius: .75rem; padding: 1rem; box-shadow: 0 1px 3px #0002; }}
label {{ display: block; font-weight: 600; margin-bottom: .5rem; }}
input {{ width: 100%; box-sizing: border-box; font-size: 1.25rem; padding: .7rem;
        border: 1px solid #8a949e; border-radius: .5rem; }}
button {{ width: 100%; margin-top: 1rem; font-size: 1.1rem; padding: .8rem; border: 0;
         border-radius: .5rem; background: #0b6bcb; color: #fff; }}
button[disabled] {{ opacity: .6; }}
.ok, .err {{ padding: .8rem; border-radius: .5rem; margin: 1rem 0 0; }}
.ok {{ background: #e6f4ea; }} .err {{ background: #fdecea; }}
ol {{ padding-left: 1.2rem; line-height: 1.6; }}
code {{ background: #e8ecef; padding: 0 .25rem; border-radius: .25rem; }}
</style>
</head>
<body>
<main>
<h1>Lấy mã đăng nhập</h1>
<form method="post" action="/_dieuhanh/dang-nhap" id="form">
<input type="hidden" name="_csrf" value="{token}">
<label for="phone">Số điện thoại di động</label>
<input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel"
       placeholder="0912 345 678" required>
<button type="submit" id="send">Gửi mã qua SMS</button>
<div id="answer">{answer}</div>
</form>
<h2>Sau khi nhận được mã</h2>
<ol>
<li>Mở ứng dụng <b>Element</b> trên điện thoại hoặc máy tính.</li>
<li>Chọn đăng nhập, ở mục máy chủ (homeserver) nhập <code>{homeserver}</code>.</li>
<li>Tên đăng nhập: <b>số điện thoại</b> của bạn, ví dụ <code>0912345678</code>.</li>
<li>Mật khẩu: <b>mã 6 chữ số</b> vừa nhận (hiệu lực {minutes} phút, dùng một lần).</li>
</ol>
<p>Không chia sẻ mã với bất kỳ ai. Mỗi lần lấy mã mới, mã cũ hết hiệu lực.</p>
</main>
<script>
document.getElementById("form").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const button = document.getElementById("send");
  const answer = document.getElementById("answer");
  button.disabled = true;
  try {{
    const response = await fetch("/_dieuhanh/api/ma-dang-nhap", {{
      method: "POST", headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{phone: document.getElementById("phone").value}})
    }});
    const data = await response.json();
    const p = document.createElement("p");
    p.className = response.ok ? "ok" : "err";
    p.setAttribute("role", "status");
    p.textContent = response.ok ? data.message : data.error;
    answer.replaceChildren(p);
  }} catch (e) {{
    answer.textContent = "Không kết nối được máy chủ. Vui lòng thử lại.";
  }} finally {{
    button.disabled = false;
  }}
}});
</script>
</body>
</html>
"""
