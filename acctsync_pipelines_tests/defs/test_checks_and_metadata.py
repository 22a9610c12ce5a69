"""Per-day reconciliation checks block posting and show their figures; metadata a person reads in the UI."""

import datetime as dt
import warnings

import dagster as dg
import duckdb

from acctsync_pipelines.lib.sample.usen_reji import write_sample

DAY = "2025-06-02"


def key(stage: str) -> dg.AssetKey:
    return dg.AssetKey(["usen_reji", stage])


def run_stages(home, stages: list[str], day: str = DAY) -> dg.ExecuteInProcessResult:
    from acctsync_pipelines.definitions import defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = defs().resolve_job_def("usen_reji_daily")
    return job.execute_in_process(partition_key=day, asset_selection=[key(s) for s in stages],
                                  instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def check(result, name: str) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == name)


def materialization(result, stage: str) -> dict:
    (event,) = result.asset_materializations_for_node(f"usen_reji__{stage}")
    return event.metadata


def test_a_staging_total_that_disagrees_with_the_source_blocks_posting_with_the_figures(home):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=3)
    assert run_stages(home, ["raw_orders", "normalized_transactions"]).success
    with duckdb.connect(str(home.warehouse)) as conn:  # a row changed behind the pipeline's back
        (doc_id, amount) = conn.execute(
            """UPDATE staging.normalized_transactions SET amount = amount + 1
               WHERE rowid = (SELECT min(rowid) FROM staging.normalized_transactions
                              WHERE business_date = ? AND doc_kind = 'sale' AND store_code = '0001')
               RETURNING doc_id, amount""", [DAY]).fetchone()
    result = run_stages(home, ["journal_entries", "posted_entries"])
    assert not result.success
    totals = check(result, "totals_match")
    assert not totals.passed and totals.severity == dg.AssetCheckSeverity.ERROR
    figures = totals.metadata["offending_figures"].value
    assert "| business_date | scope | measure | source_total | normalized_total | journal_total |" in figures
    rows = [line for line in figures.splitlines() if line.startswith(f"| {DAY} | 0001 |")]
    assert {line.split(" | ")[2] for line in rows} == {"sales", "tenders"}
    for line in rows:
        source_total, normalized_total, journal_total = (int(v) for v in line.strip("| ").split(" | ")[3:6])
        assert normalized_total == journal_total == source_total + 1
    assert check(result, "entries_balance").passed
    assert "usen_reji__posted_entries" not in [e.step_key for e in result.all_events if e.is_step_success]
    assert home.query("SELECT count(*) FROM ledger.postings") == [(0,)]
    assert home.query("SELECT stage, message LIKE 'check totals_match failed%' FROM ops.day_errors") == [
        ("journal_entries", True)]

    # A later run of the whole day rebuilds staging from the source: the figures agree and the day posts.
    assert run_stages(home, ["raw_orders", "normalized_transactions", "journal_entries", "posted_entries"]).success
    assert home.query("SELECT count(*) FROM ops.day_errors") == [(0,)]
    assert home.query("SELECT count(DISTINCT batch_id) FROM ledger.postings") == [(1,)]


def test_posted_totals_that_disagree_with_the_journal_fail_the_posted_check(home):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=3)
    first = run_stages(home, ["raw_orders", "normalized_transactions", "journal_entries", "posted_entries"])
    assert first.success and check(first, "posted_match_journal").passed
    with duckdb.connect(str(home.warehouse)) as conn:  # the log no longer says what the journal holds
        conn.execute("""UPDATE ledger.posted_lines SET amount = amount - 10
                        WHERE line_no = 1 AND entry_id = 'usen_reji:0001:2025-06-02:sales'""")
    result = run_stages(home, ["posted_entries"])
    posted = check(result, "posted_match_journal")
    assert not posted.passed
    figures = posted.metadata["offending_figures"].value
    assert "| business_date | target | account | sub_account | tax_category | journal_net | posted_net |" in figures
    assert f"| {DAY} | yayoi_csv |" in figures
    assert posted.metadata["mismatches"].value >= 1


def test_metadata_shows_counts_totals_preview_export_path_and_review_count(home):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=3)
    result = run_stages(home, ["raw_orders", "normalized_transactions", "journal_entries", "posted_entries"])
    assert result.success

    raw = materialization(result, "raw_orders")
    assert raw["dagster/row_count"].value > 0 and raw["bundles"].value >= 2

    normalized = materialization(result, "normalized_transactions")
    (rows,) = home.query("SELECT count(*) FROM staging.normalized_transactions WHERE business_date = ?", [DAY])[0]
    assert normalized["dagster/row_count"].value == rows
    by_tender = normalized["totals_by_tender"].value
    assert by_tender.startswith("| tender | tender_name | documents | amount |")
    cash = home.query("""SELECT sum(amount) FROM staging.normalized_transactions
                         WHERE business_date = ? AND tender = '現金'""", [DAY])[0][0]
    assert any(line.startswith("| 現金 |") and line.rstrip(" |").endswith(str(cash)) for line in by_tender.splitlines())
    assert "| sale | 10 |" in normalized["totals_by_kind_and_tax_rate"].value

    journal = materialization(result, "journal_entries")
    assert "| account | sub_account | debit | credit |" in journal["totals_by_account"].value
    assert f"journal_preview_{DAY}" in journal
    assert "usen_reji:0001:2025-06-02:sales" in journal[f"journal_preview_{DAY}"].value
    assert journal["lines_waiting_for_review"].value == home.query(
        "SELECT count(*) FROM ledger.journal_lines WHERE business_date = ? AND status = 'needs_review'", [DAY])[0][0]

    posted = materialization(result, "posted_entries")
    (export,) = home.export_files()
    assert posted["latest_export_file"].value == str(export)
    assert posted["export_files"].value == [str(export)]
    assert posted["dagster/row_count"].value == home.query("SELECT count(*) FROM ledger.posted_lines")[0][0]
    assert "lines_waiting_for_review" in posted
