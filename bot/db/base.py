"""What every table module of the bot shares: the clock, and the way off the event loop.

Every query of ``bot.db`` is a coroutine: its SQL runs in a worker thread
(:func:`in_thread`), so the bot's event loop never waits on the database. A query that
is part of a larger transaction takes a connection instead and stays synchronous
(its name starts with an underscore); the coroutine that opens the transaction runs it.
"""

from provisioning.db.threads import in_thread, utcnow  # noqa: F401 - what bot.db uses
