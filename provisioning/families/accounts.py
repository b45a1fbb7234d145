"""How a family account is named outside our database (pure, imported by the Synapse
module too): the key that ties it to its phone.

The layout, the plan and the mirror identify a staff account by the person's code; a
family account by ``family:<E.164 phone>``. The same string is the account's external id
(auth provider ``dieuhanh``) on Synapse, which only admins can read: this is how an apply
finds the account again after a lost mirror, and how the Synapse module tells a family
account from a staff one (``identity/directory_privacy.py``). The phone never appears in
the user id, which other members see.
"""

from __future__ import annotations

#: Prefix of a family account's key and external id.
FAMILY_PREFIX = "family:"


def family_key(phone: str) -> str:
    """The key of the family account of ``phone`` (E.164)."""
    return FAMILY_PREFIX + phone


def is_family_key(key: str | None) -> bool:
    return key is not None and key.startswith(FAMILY_PREFIX)


def phone_of(key: str) -> str:
    """The phone (E.164) of a family account's key."""
    return key[len(FAMILY_PREFIX) :]
