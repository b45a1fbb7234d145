"""Families and the bot: who a parent's or student's account is, which records they may
see (``access``), the learning record as a card (``card``), the school year's terms
(``terms``), the cache of families' identities (``cache``) and the parents' summary of
new marks (``notify``)."""
