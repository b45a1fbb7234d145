"""Cross-signing for the bot, which matrix-nio cannot do (matrix-nio#229).

``keys``: the pure part (generation, key file, signing, checks); ``server``: the homeserver
calls made on every start.
"""
