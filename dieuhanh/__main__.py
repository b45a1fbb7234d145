"""``python -m dieuhanh``: the command line (what the supervisor uses to start services)."""

from dieuhanh.cli import app

app()
