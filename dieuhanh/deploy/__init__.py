"""The production profile: Synapse with workers on PostgreSQL and Redis, nginx in front,
coturn for voice calls, our services on PostgreSQL, systemd units.

``generate(answers, secrets)`` is pure: from a few answers (server name, public URL,
PostgreSQL and Redis URLs, how many event persisters and generic workers, whether Synapse's
background work has a worker of its own) it returns every file of the deployment;
``write_bundle`` puts them on disk; ``run`` starts the same profile on this machine under
the embedded stack's supervisor.
"""

from dieuhanh.deploy.answers import Answers, TurnAnswers
from dieuhanh.deploy.generate import Bundle, GeneratedFile, generate, write_bundle
from dieuhanh.deploy.secrets import Secrets, load_or_create_secrets

__all__ = [
    "Answers",
    "Bundle",
    "GeneratedFile",
    "Secrets",
    "TurnAnswers",
    "generate",
    "load_or_create_secrets",
    "write_bundle",
]
