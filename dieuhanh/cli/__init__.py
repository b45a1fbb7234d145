"""The ``dieuhanh`` command line: what admins run, and what the supervisor starts.

One module per family of commands; each registers on the shared Typer ``app`` (in the
order ``--help`` lists them).
"""

from dieuhanh.cli import up  # noqa: F401, I001 - they register, in this order
from dieuhanh.cli import directory, matrix, services, webhook  # noqa: F401
from dieuhanh.cli import backup, deploy, export, lich, moi  # noqa: F401
from dieuhanh.cli.common import app

__all__ = ["app"]
