"""The records office (Lưu VT): what went out and came back, as rows for ``dieuhanh export``.

- ``export``: the directives of a period (for one unit, what it sent or received), their
  recipients, read states, answers and submissions, as plain rows;
- ``workbook``: those rows as an XLSX file (two sheets);
- ``media``: the collected report files, fetched from the homeserver's media API.
"""
