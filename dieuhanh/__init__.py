"""Điều hành, the application: the ``dieuhanh`` command line, the embedded stack
(``dieuhanh up``: Synapse, the bot and the bridge under one supervisor), the services'
entry points and the configuration and database that bring the packages together.

Imports go one way: ``dieuhanh`` → ``bot``, ``bridge`` → ``provisioning``.
"""
