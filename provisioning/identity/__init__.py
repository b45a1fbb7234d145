"""Identity on the homeserver: phone login by SMS code, and what our services may do.

- ``codes``: the codes themselves (generation, hashing, SMS wording) — pure.
- ``sms``: the gateways that deliver the SMS (a development file sink, a generic HTTP one).
- ``store``: codes and request counts in Synapse's own database.
- ``synapse_module``: the module Synapse loads (login checks, the code request page).
- ``service_access``: the module that gives the bot and the bridge scoped operations in
  place of the server-admin token; ``service_api``: its paths and the callers' side.
"""
