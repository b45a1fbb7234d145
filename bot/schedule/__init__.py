"""Lịch công tác: a unit's weekly work schedule.

- ``days``: days, times and weeks as people write them ("thứ 2", "T2", "08/12", "7h30",
  "tuần sau"), pure;
- ``entries``: one entry of a schedule (day, time, content, place, attendees), the
  one-line form of ``!lich them`` and the order entries are shown in, pure;
- ``card``: how a week's schedule reads in Element (an HTML table, a plain-text
  fallback, the structured ``vn.dieuhanh.schedule``), pure;
- ``xlsx``: the schedule an office keeps in Excel, read into entries (every bad cell
  reported by sheet, row and column);
- ``posting``: the scheduler's task that posts each unit's week on Monday 07:00 to its
  "Thông tin điều hành" room and edits the post in place (``m.replace``) when it changes.

The table is ``bot.db.schedule``; the command ``bot.commands.lich``; the import
``dieuhanh lich import`` (``dieuhanh/cli/lich.py``).
"""
