"""Reliability suite: hostile inputs, posting properties, re-runs, crashes, faults, secrets, concurrency.

The same code runs fast inside ``make test`` and longer under ``make reliability``
(``ACCTSYNC_RELIABILITY=full``): only repetition counts and sizes change.
"""
