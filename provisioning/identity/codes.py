"""One-time login codes: 6 random digits, kept only as a keyed hash (pure)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from provisioning.text import fold

CODE_DIGITS = 6
#: One SMS holds 70 characters in UCS-2 (with diacritics) or 160 in GSM-7 (without).
UNICODE_SMS = 70


def new_code() -> str:
    """Six digits from the operating system's cryptographic source."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret: str, phone: str, code: str) -> str:
    """HMAC of (phone, code): a leaked table cannot be brute-forced without the secret."""
    return hmac.new(secret.encode(), f"{phone}\0{code}".encode(), hashlib.sha256).hexdigest()


def phone_key(secret: str, phone: str) -> str:
    """A keyed hash of a number, to count requests without storing who asked."""
    return hmac.new(secret.encode(), f"phone\0{phone}".encode(), hashlib.sha256).hexdigest()[:32]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def sms_text(code: str, minutes: int, service: str = "Điều hành") -> str:
    """The SMS: Vietnamese with diacritics when it fits one Unicode SMS, else without."""
    text = f"Mã đăng nhập {service}: {code}. Hiệu lực {minutes} phút. Không chia sẻ mã này."
    if len(text) <= UNICODE_SMS:
        return text
    short = f"Mã đăng nhập {service}: {code}, hiệu lực {minutes} phút."
    if len(short) <= UNICODE_SMS:
        return short
    return _ascii(text)


def _ascii(text: str) -> str:
    """Drop diacritics but keep the case: "Mã đăng nhập" → "Ma dang nhap"."""
    out = []
    for char in text:
        folded = fold(char) if not char.isspace() else char
        out.append(folded.upper() if char.isupper() else folded or char)
    return "".join(out)


def redact(text: str, code: str) -> str:
    """``text`` with every occurrence of the code masked (for errors and logs)."""
    return text.replace(code, "•" * len(code)) if code else text
