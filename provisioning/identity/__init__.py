"""Phone identity: one-time login codes by SMS, checked by a Synapse module.

- ``codes``: the codes themselves (generation, hashing, SMS wording) — pure.
- ``sms``: the gateways that deliver the SMS (a development file sink, a generic HTTP one).
- ``store``: codes and request counts in Synapse's own database.
- ``synapse_module``: the module Synapse loads (login checks, the code request page).
"""
