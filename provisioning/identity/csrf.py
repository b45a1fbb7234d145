"""Cross-site request protection and cookie rules for our web pages (pure).

- The code request form (without JavaScript) carries a token: an HMAC of a random cookie
  set with the page (double submit, bound to the module's secret), so another site
  cannot make its visitors' browsers ask for codes.
- The JSON API accepts requests from the page's own origin and from programs (which send
  no Origin), never from another site's page.
- Cookies are Secure unless the pages are only reachable on this machine over plain http.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from urllib.parse import urlsplit

COOKIE = "dh_csrf"
COOKIE_PATH = "/_dieuhanh/"
COOKIE_MAX_AGE = 24 * 3600
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{16,100}")


def new_cookie() -> str:
    return secrets.token_urlsafe(24)


def usable_cookie(value: str | None) -> str | None:
    """The cookie's value if it is one we could have set; None otherwise."""
    return value if value and _COOKIE_VALUE.fullmatch(value) else None


def form_token(secret: str, cookie: str) -> str:
    """The token a form carries: an HMAC of the browser's cookie under our secret."""
    key = hmac.new(secret.encode(), b"dieuhanh code request form", hashlib.sha256).digest()
    return hmac.new(key, cookie.encode(), hashlib.sha256).hexdigest()


def form_token_ok(secret: str, cookie: str | None, token: str | None) -> bool:
    cookie = usable_cookie(cookie)
    if cookie is None or not token:
        return False
    return hmac.compare_digest(form_token(secret, cookie), token)


def set_cookie_header(value: str, secure: bool) -> str:
    parts = [
        f"{COOKIE}={value}",
        f"Path={COOKIE_PATH}",
        f"Max-Age={COOKIE_MAX_AGE}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def origin_of(url: str) -> str:
    """ "https://matrix.so.edu.vn:443/x" → "https://matrix.so.edu.vn:443" (lower case)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site(
    origin: str | None, fetch_site: str | None, own_origin: str, host: str | None
) -> bool:
    """Whether a request was made by another site's page.

    ``origin`` and ``fetch_site`` are the Origin and Sec-Fetch-Site headers (browsers send
    them; programs do not); ``own_origin`` is our public base URL's origin; ``host`` the
    Host header (the name the browser was talking to, behind any proxy).
    """
    if fetch_site and fetch_site.strip().lower() not in ("same-origin", "none"):
        return True
    if not origin:
        return False
    origin = origin.strip().lower().rstrip("/")
    if origin == own_origin.rstrip("/"):
        return False
    netloc = urlsplit(origin).netloc
    return not (host and netloc and netloc == host.strip().lower())


def _loopback_only(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, or every interface ("", "0.0.0.0", "::")


def cookies_must_be_secure(listen_host: str, public_url: str = "") -> bool:
    """Secure cookies unless the pages are reached on this machine only, over plain http."""
    if public_url.strip().lower().startswith("https://"):
        return True
    return not _loopback_only(listen_host)
