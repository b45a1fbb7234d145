"""A real browser (Debian's headless Chromium, driven by Playwright) requests a code on
the page; the code from the SMS sink then logs in through the client-server API."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from ..waiting import eventually
from .test_login import SHAPES, login, provision, sms_to

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# CI installs Debian's chromium and sets this, so that the test can never be skipped there
REQUIRED = os.environ.get("DIEUHANH_REQUIRE_BROWSER") == "1"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not REQUIRED,
    reason="Debian's chromium is not installed (apt-get install chromium); CI installs it",
)

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_request_page_in_a_real_browser_then_log_in(synapse, tmp_path):
    from playwright.sync_api import sync_playwright

    user_id, phone = provision(synapse)
    before = len(sms_to(synapse, phone))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.goto(f"{synapse.base_url}/_dieuhanh/dang-nhap")
            assert page.title() == "Lấy mã đăng nhập — Điều hành"
            page.fill("#phone", "0" + phone[3:6] + " " + phone[6:9] + " " + phone[9:])
            page.click("#send")
            status = page.wait_for_selector("#answer [role=status]", timeout=15_000)
            assert "mã đăng nhập gồm 6 chữ số" in status.inner_text()
            page.screenshot(path=str(tmp_path / "dang-nhap.png"))
        finally:
            browser.close()
    texts = eventually(
        lambda: sms_to(synapse, phone)[before:], 10, f"an SMS to {phone}", interval=0.05
    )
    code = re.search(r"\b(\d{6})\b", texts[-1]).group(1)
    status, body = login(synapse, SHAPES["element-android m.id.user typed"](phone), code)
    assert (status, body["user_id"]) == (200, user_id)


def test_page_works_without_javascript(synapse):
    from playwright.sync_api import sync_playwright

    _, phone = provision(synapse)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(java_script_enabled=False)
            page = context.new_page()
            page.goto(f"{synapse.base_url}/_dieuhanh/dang-nhap")
            page.fill("#phone", "0" + phone[3:])
            page.click("#send")
            page.wait_for_load_state()
            assert "mã đăng nhập gồm 6 chữ số" in page.inner_text("#answer")
        finally:
            browser.close()
