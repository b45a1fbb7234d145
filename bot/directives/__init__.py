"""Directives (tin nhắn điều hành) and the other kinds of post.

- ``audience``, ``cover``, ``compose``: who a post is for, the exact delivery plan, the
  preview and the save;
- ``kinds``: the kinds (tin nhắn, thông báo, văn bản, thư mời, yêu cầu báo cáo), their
  fields and checks; hooks ``reminders_for``, ``prepare_for``;
- ``when``: times as typed ("08:00 07/12/2026"), "khẩn" and "lúc …" at the end of a post;
- ``files``: which files are accepted (PDF, Office, images);
- ``post``: a post's last checks, then stored (at once or scheduled) and answered;
- ``cards``: how each kind reads in Element; hooks ``card_note``, ``delivery_parts``;
- ``reports`` (pure) and ``submissions``: report requests — what a reply submits, on
  time / late / missing, ``!nop``'s window for files in the DM, the summary at the deadline;
- ``invitation`` (pure) and ``rsvp``: a thư mời's answers, reminders and ``.ics``;
- ``worker``: durable sending; ``scheduler``: scheduled posts and reminders when due,
  hooks ``reminder_kind``, ``on_tick``.
"""
