"""The bridge (a mautrix appservice): portal news into Matrix.

``dieuhanh bridge --config data/config.yaml`` (started by ``dieuhanh up``). It

- relays each unit's RSS/Atom feed into the unit's "Thông tin điều hành" room (poller.py, feeds.py),
  posted by a ghost per portal, "Cổng TTĐT <unit>" (ghosts.py, post.py, delivery.py);
- accepts news pushed by a portal's CMS (webhook.py) for its own unit and those below it;
- serves the admin page "Gửi thông báo" (web/), where a unit's leaders pick items and
  target units and send them to everyone's phone.

Layout: service.py runs it all; db/ holds the bridge's tables, one module per table with
its queries, and their migrations; directory.py and authority.py read the directory;
sanitize.py is the only way feed HTML reaches a formatted_body.
"""
