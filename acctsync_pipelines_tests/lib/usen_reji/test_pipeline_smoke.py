"""A first end-to-end check of one USEN day; the detailed cases live in the other test files."""

import datetime as dt

from acctsync_pipelines.lib.sample.usen_reji import write_sample


def test_one_sample_day_books_and_posts(home):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=2)
    result = home.materialize("usen_reji", "2025-06-01")
    assert result.success
    (unbalanced,) = home.query(
        """SELECT count(*) FROM (SELECT entry_id FROM ledger.journal_lines GROUP BY entry_id
           HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0)"""
    )[0:1]
    assert unbalanced == (0,)
    assert [p.name for p in home.export_files()] == ["usen_reji_20250601_001.csv"]
