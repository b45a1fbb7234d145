"""The "Gửi thông báo" admin page, with the bridge running as its own process
(``python -m bridge --config …``, settings from DIEUHANH_* variables) and a real browser:
Debian's headless Chromium driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from bridge.db.item import NewsItem
from bridge.post import NEWS_KEY
from dieuhanh.embedded.ports import free_port

from ..identity.test_browser import ARGS, CHROMIUM, REQUIRED
from ..identity.test_login import sms_to
from ..waiting import eventually, log_tail

ROOT = Path(__file__).resolve().parents[2]
SEND_BUTTON = "Gửi thông báo có tin mới đến người dùng qua ứng dụng"


class BridgeProcess:
    def __init__(self, news_world, folder: Path) -> None:
        self.nw = news_world
        self.port = free_port()
        self.log_path = folder / "bridge.log"
        self.env = {
            **os.environ,
            "DIEUHANH_DATABASE_URL": news_world.db_url,
            "DIEUHANH_HOMESERVER_URL": news_world.synapse.base_url,
            "DIEUHANH_WEB_LISTEN_PORT": str(self.port),
            "DIEUHANH_BRIDGE_POLL_INTERVAL_SECONDS": "3600",
            "DIEUHANH_BRIDGE_FEED_TIMEOUT_SECONDS": "1",
            "DIEUHANH_BRIDGE_ALLOW_PRIVATE_ADDRESSES": "true",  # the portals are on 127.0.0.1
        }
        self.base = f"http://127.0.0.1:{self.port}/_dieuhanh/gui-thong-bao"

    def start(self) -> None:
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dieuhanh",
                "bridge",
                "--config",
                str(self.nw.synapse.config_path),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def listening() -> bool:
            if b"started, listening" in self.log_path.read_bytes():
                return True
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            return False

        eventually(
            listening, 60, "the bridge to start listening", diagnostic=log_tail(self.log_path)
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(timeout=30) == 0, self.log_path.read_text()[-3000:]
        self.log.close()


@pytest.fixture(scope="module")
def bridge_process(news_world, tmp_path_factory):
    process = BridgeProcess(news_world, tmp_path_factory.mktemp("bridge-process"))
    process.start()
    yield process
    process.stop()


def wait_for_items(news_world, unit: str, count: int, timeout: float = 30) -> None:
    """Until the running bridge has read the unit's feed."""
    engine = news_world.world.engine
    eventually(
        lambda: len(asyncio.run(NewsItem.recent(engine, [news_world.u(unit)]))) >= count,
        timeout,
        f"the bridge to read the feed of {unit}",
        interval=0.2,
    )


def spaced(phone: str) -> str:
    """+84912345678 → "0912 345 678", as people type it."""
    national = "0" + phone[3:]
    return f"{national[:4]} {national[4:7]} {national[7:]}"


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not REQUIRED,
    reason="Debian's chromium is not installed (apt-get install chromium); CI installs it",
)
def test_admin_logs_in_with_phone_and_code_then_sends_two_items_to_two_units(
    news_world, bridge_process, tmp_path
):
    from playwright.sync_api import sync_playwright

    nw = news_world
    wait_for_items(nw, "xa", 5)
    phone = nw.phone("tp")  # Trưởng phòng of Xã Hóc Môn: manages its schools
    before = len(sms_to(nw.synapse, phone))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(bridge_process.base)
            assert page.url.endswith("/gui-thong-bao/dang-nhap")
            assert page.title() == "Đăng nhập — Điều hành"
            page.fill("#tai_khoan", spaced(phone))
            page.click("#gui-ma")
            status = page.wait_for_selector("#thong-bao", timeout=15_000)
            assert "mã đăng nhập gồm 6 chữ số" in status.inner_text()
            page.screenshot(path=str(tmp_path / "dang-nhap.png"), full_page=True)
            texts = eventually(
                lambda: sms_to(nw.synapse, phone)[before:],
                10,
                f"an SMS to {phone}",
                interval=0.05,
            )
            code = re.search(r"\b(\d{6})\b", texts[-1]).group(1)
            assert page.input_value("#tai_khoan") == spaced(phone)  # kept for the next step
            page.fill("#mat_khau", code)
            page.click("#dang-nhap")
            page.wait_for_selector("#form-gui")
            assert "Lý Văn Minh" in page.inner_text("header")
            assert "Xã Hóc Môn" in page.inner_text("main .lead")

            # the office sees its own portal's items, and targets within its authority only
            units = page.inner_text("#danh-sach-don-vi")
            assert "Trường Mầm non Hoa Sen" in units and "Trường Tiểu học Hòa Bình" in units
            assert "Nguyễn Hữu Cầu" not in units  # a THPT under the Sở, not the xã
            for n in (1, 2):
                page.locator("#danh-sach-tin li", has_text=f"Tin số {n} của xa").locator(
                    "input"
                ).check()
            page.fill("#loc-don-vi", "hoa sen")  # the filter narrows a long list
            page.locator("#danh-sach-don-vi li:visible input").check()
            page.fill("#loc-don-vi", "")
            page.locator("#danh-sach-don-vi li", has_text="Hòa Bình").locator("input").check()
            assert page.inner_text("#da-chon") == "Đã chọn 2 tin, 2 đơn vị."
            assert page.inner_text("#gui") == SEND_BUTTON
            page.screenshot(path=str(tmp_path / "gui-thong-bao.png"), full_page=True)
            page.click("#gui")
            page.wait_for_selector("#ket-qua")
            rows = page.locator("#ket-qua tbody tr").all_inner_texts()
            assert len(rows) == 4 and all("Đã gửi" in r for r in rows), rows
            assert page.inner_text("#tom-tat").startswith("Đã gửi 2 tin đến 2 đơn vị")
            page.screenshot(path=str(tmp_path / "ket-qua.png"), full_page=True)

            # both rooms received both items, once
            for unit in ("mn1", "th1"):
                ids = nw.news_ids(unit)
                assert ids.count("xa-1") == 1 and ids.count("xa-2") == 1, (unit, ids)
                mine = [
                    e
                    for e in nw.news(unit)
                    if e["content"][NEWS_KEY]["item_id"] in ("xa-1", "xa-2")
                ]
                senders = {e["sender"] for e in mine}
                assert senders == {nw.ghost("xa")}

            # the page now says where they went
            page.click("#quay-lai")
            item = page.locator("#danh-sach-tin li", has_text="Tin số 1 của xa")
            assert "Đã gửi đến: MN Hoa Sen, TH Hòa Bình" in item.inner_text()
            assert "TH Hòa Bình" in page.inner_text("#lich-su")

            # no CSRF token, or a unit outside authority: refused, nothing sent
            csrf = page.input_value("input[name=_csrf]")
            item_id = item.locator("input").get_attribute("value")
            form = {"item": item_id, "unit": nw.u("thpt1"), "nguon": nw.u("xa")}
            assert page.request.post(bridge_process.base, form=form).status == 403
            refused = page.request.post(bridge_process.base, form={**form, "_csrf": csrf})
            assert refused.status == 403
            assert nw.news_ids("thpt1").count("xa-1") == 0
            # sending again is harmless: "already"
            again = page.request.post(
                bridge_process.base, form={**form, "unit": nw.u("mn1"), "_csrf": csrf}
            )
            assert again.status == 200 and "Đã gửi trước đó" in again.text()
            assert nw.news_ids("mn1").count("xa-1") == 1
        finally:
            browser.close()


def _post(url: str, form: dict, jar: CookieJar) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    data = urllib.parse.urlencode(form).encode()
    try:
        with opener.open(urllib.request.Request(url, data=data, method="POST"), timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _login_form(url: str, jar: CookieJar) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url, timeout=30) as response:
        page = response.read().decode()
    return re.search(r'name="_csrf" value="([^"]+)"', page).group(1)


def test_login_is_refused_to_non_admins_and_without_the_form_token(news_world, bridge_process):
    nw = news_world
    login = f"{bridge_process.base}/dang-nhap"
    # a Matrix account that is nobody in the directory (a service account: only those
    # have a password)
    jar = CookieJar()
    token = _login_form(login, jar)
    admin_password = nw.synapse.setup.data.admin_password_path.read_text(encoding="utf-8")
    status, page = _post(
        login,
        {"_csrf": token, "tai_khoan": nw.synapse.admin_user_id, "mat_khau": admin_password.strip()},
        jar,
    )
    assert status == 403 and "không gắn với cán bộ nào trong danh bạ" in page
    # a teacher (phone + code) manages nothing
    from ..identity.test_login import code_for

    phone = nw.phone("gv1")
    code = code_for(nw.synapse, phone)
    status, page = _post(login, {"_csrf": token, "tai_khoan": phone, "mat_khau": code}, jar)
    assert status == 403 and "không quản lý đơn vị nào" in page
    # a wrong code, and a form without its token
    status, page = _post(login, {"_csrf": token, "tai_khoan": phone, "mat_khau": "000000"}, jar)
    assert status == 403 and "không đúng" in page
    status, page = _post(login, {"tai_khoan": phone, "mat_khau": "123456"}, CookieJar())
    assert status == 400 and "hết hạn" in page
    # the page without a session sends to the login form
    with urllib.request.urlopen(bridge_process.base, timeout=30) as response:
        assert response.url.endswith("/dang-nhap")
        assert "no-store" in response.headers["Cache-Control"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
