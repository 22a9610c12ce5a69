"""The settlement assets load with the code location: keys, group, partitions, checks, pool, job, lineage."""

import datetime as dt
import warnings

import dagster as dg

MATCHES = dg.AssetKey(["settlement", "matches"])
POSTED = dg.AssetKey(["settlement", "posted_entries"])


def load():
    from acctsync_pipelines.definitions import defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return defs()


def test_matches_and_posted_entries_per_tokyo_day_with_checks_and_a_job(home):
    home.configure({"settlement": {"start_date": "2025-04-01", "lookback_days": 90}})
    definitions = load()
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    matches, posted = graph.get(MATCHES), graph.get(POSTED)
    for node in (matches, posted):
        assert node.group_name == "settlement"
        assert node.partitions_def.timezone == "Asia/Tokyo"
        assert node.partitions_def.get_first_partition_key() == "2025-04-01"
    assert graph.get(POSTED).parent_keys == {MATCHES}

    specs = {spec.name: spec for spec in definitions.resolve_assets_def(MATCHES).check_specs}
    assert {name: spec.blocking for name, spec in specs.items()} == {
        "entries_balance": True, "settled_once": False, "overdue_receivables": False}

    # a day's deposits pay receivables booked over the lookback window before it
    upstream = dg.AssetKey(["usen_reji", "journal_entries"])
    assert upstream in matches.parent_keys
    mapping = definitions.resolve_assets_def(MATCHES).get_partition_mapping(upstream)
    assert (mapping.start_offset, mapping.end_offset) == (-90, 0)

    pools = {definitions.resolve_assets_def(key).op.pool for key in (MATCHES, POSTED)}
    assert pools == {"duckdb"}
    job = definitions.resolve_job_def("settlement_daily")
    assert set(job.asset_layer.executable_asset_keys) >= {MATCHES, POSTED}


def test_settlement_can_be_turned_off(home):
    home.configure({"settlement": {"enabled": False}})
    keys = load().resolve_asset_graph().get_all_asset_keys()
    assert not any(key.path[0] == "settlement" for key in keys)


def test_a_new_or_changed_bank_export_requests_settlement_of_its_value_dates(home, instance):
    from acctsync_pipelines.defs.schedules import RANGE_END, RANGE_START
    from acctsync_pipelines_tests.defs.test_sensors import Sensor
    from acctsync_pipelines_tests.lib.settlement.scenario import card_rule, configure, deposit, write_statement

    configure(home, card_rule())
    rows = [deposit(dt.date(2025, 6, 10), "ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 1000), deposit(dt.date(2025, 6, 11), "ﾌﾘｺﾐ ﾃｽﾄ", 2000),
            ("R7.6.13", "ﾌﾘｺﾐ ﾃｽﾄ", "3,000", "", "1,006,000")]
    path = write_statement(home, "202506.csv", rows)
    sensor = Sensor(load(), instance)
    assert sensor.tick().run_requests == []   # the file's size must settle over two ticks
    requests = sensor.tick().run_requests
    described = [(r.job_name, r.partition_key or (r.tags[RANGE_START], r.tags[RANGE_END])) for r in requests]
    assert described == [("settlement_daily", ("2025-06-10", "2025-06-11")), ("settlement_daily", "2025-06-13")]
    assert all(r.run_key.startswith("inbox:bank:") for r in requests)
    assert all(sensor.run(r).success for r in requests)
    assert home.query("SELECT value_date, amount, status FROM ledger.deposit_matches ORDER BY value_date") == [
        (dt.date(2025, 6, 10), 1000, "unmatched"), (dt.date(2025, 6, 11), 2000, "unmatched"),
        (dt.date(2025, 6, 13), 3000, "unmatched")]

    assert sensor.tick().run_requests == []
    path.touch()   # touched, not changed: nothing to run
    sensor.tick()
    assert sensor.tick().run_requests == []
    # the bank's next export replaces the file with one more line: its days run again, under new run keys
    write_statement(home, "202506.csv", [*rows, deposit(dt.date(2025, 6, 16), "ﾌﾘｺﾐ ﾃｽﾄ", 4000)])
    sensor.tick()
    again = sensor.tick().run_requests
    assert [r.partition_key or (r.tags[RANGE_START], r.tags[RANGE_END]) for r in again] == [
        ("2025-06-10", "2025-06-11"), "2025-06-13", "2025-06-16"]
    assert not {r.run_key for r in again} & {r.run_key for r in requests}


def test_settlement_runs_nightly_an_hour_after_the_sources(home):
    from zoneinfo import ZoneInfo

    from acctsync_pipelines_tests.defs.test_schedules import described, tick

    home.configure({"schedules": {"hour": 4, "minute": 30, "lookback_days": {"usen_reji": 3, "stores": 5, "amazon_business": 2}},
                    "settlement": {"start_date": "2025-06-01"}})
    definitions = load()
    schedule = definitions.resolve_schedule_def("settlement_nightly")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 5 * * *", "Asia/Tokyo")
    result = tick(definitions, "settlement_nightly", dt.datetime(2025, 6, 10, 5, 30, tzinfo=ZoneInfo("Asia/Tokyo")))
    # the previous day, and the sources' longest lookback (STORES: 5 days) before it
    assert [described(r) for r in result.run_requests] == [("2025-06-04", "2025-06-08"), ("2025-06-09",)]
    assert {r.job_name for r in result.run_requests} == {"settlement_daily"}
