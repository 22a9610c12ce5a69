"""The review queue (未確定の取引): lines acctsync guessed wait here until a person approves or corrects them.

- ``overrides``: what is re-applied whenever a day's journal is rebuilt: people's corrections (keyed on
  the entry's content hash as the source computed it) and holds from failed non-blocking checks.
- ``queue``: what waits, approvals, corrections, learned rules.
- ``spreadsheet``: the queue as a CSV an accountant fills in and loads back.

The CLI is ``acctsync review`` (``acctsync_pipelines/review_cli.py``).
"""
