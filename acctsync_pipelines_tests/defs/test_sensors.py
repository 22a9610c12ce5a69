"""The inbox sensor through Dagster: its requests run the real job, and a re-close posts the difference."""

import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from acctsync_pipelines.defs import sensors as sensors_module
from acctsync_pipelines.defs.schedules import RANGE_END, RANGE_START
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.sample.usen_reji import generate_days, write_bundle, write_sample
from acctsync_pipelines_tests.defs.conftest import load


class Sensor:
    def __init__(self, definitions, instance, name="inbox_sensor"):
        self.definitions, self.instance, self.name = definitions, instance, name
        self.cursor = None

    def tick(self):
        sensor = self.definitions.resolve_sensor_def(self.name)
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor, definitions=self.definitions,
                                         resources=self.definitions.resources)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = sensor.evaluate_tick(context)
        self.cursor = result.cursor
        return result

    def run(self, request: dg.RunRequest):
        job = self.definitions.resolve_job_def(request.job_name)
        return job.execute_in_process(instance=self.instance, partition_key=request.partition_key,
                                      tags=request.tags, raise_on_error=False)


def test_inbox_sensor_books_new_bundles_and_a_reclose_posts_only_the_difference(home, instance):
    inbox_dir = home.inbox("usen_reji")
    write_sample(inbox_dir, start=dt.date(2025, 6, 1), days=2)
    definitions = load(home)
    sensor = Sensor(definitions, instance)
    assert sensor.definitions.resolve_sensor_def("inbox_sensor").default_status == dg.DefaultSensorStatus.RUNNING

    first = sensor.tick()
    assert first.run_requests == [] and "waiting for their size to settle" in first.skip_message
    (request,) = sensor.tick().run_requests
    assert request.job_name == "usen_reji_daily"
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2025-06-01", "2025-06-02")
    assert request.tags["acctsync/trigger"] == "inbox_sensor"
    assert sensor.run(request).success
    assert home.query("SELECT count(DISTINCT business_date) FROM ledger.posted_lines") == [(2,)]
    assert sensor.tick().run_requests == []

    # A re-close of 2 June (a new 締め回数 bundle): that day runs again and only the difference is sent.
    reclosed = next(sd for sd in generate_days(20250601, dt.date(2025, 6, 1), 2)
                    if sd.store_code == "0001" and sd.day == dt.date(2025, 6, 2))
    reclosed.over_short -= 300
    write_bundle(inbox_dir, reclosed, 9)
    assert sensor.tick().run_requests == []
    (again,) = sensor.tick().run_requests
    assert again.partition_key == "2025-06-02"
    assert again.run_key != request.run_key
    exports_before = len(home.export_files())
    assert sensor.run(again).success
    assert len(home.export_files()) == exports_before + 1
    # Only the store-day's over/short entry changed: nothing else of the day is sent again.
    sent = home.query("SELECT DISTINCT entry_id FROM ledger.postings WHERE batch_id = 'usen_reji_20250602_002'")
    assert sent == [("usen_reji:0001:2025-06-02:over_short",)]


def test_inbox_sensor_covers_only_available_sources(home, instance):
    definitions = load(home)
    sensor = definitions.resolve_sensor_def("inbox_sensor")
    settings = load_settings()
    expected = {f"{name}_daily" for name in settings.enabled_sources
                if any(j.name == f"{name}_daily" for j in definitions.get_repository_def().get_all_jobs())}
    assert {t.job_name for t in sensor.targets} == expected | {"settlement_daily"}  # inbox/bank/
    home.configure({"sources": {"usen_reji": {"enabled": False}}})
    sensor = load(home).resolve_sensor_def("inbox_sensor")
    assert "usen_reji_daily" not in {t.job_name for t in sensor.targets}


def test_today_is_requested_only_when_configured(home, instance):
    settings = load_settings()
    now = dt.datetime(2025, 6, 10, 1, tzinfo=dt.timezone.utc)  # 10:00 on 10 June in Tokyo
    assert sensors_module.last_partition_day(settings, now) == dt.date(2025, 6, 9)
    home.configure({"sensors": {"inbox": {"include_today": True}}})
    settings = load_settings()
    assert sensors_module.last_partition_day(settings, now) == dt.date(2025, 6, 10)
    before = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    partitions = load(home).resolve_asset_graph().get(dg.AssetKey(["usen_reji", "raw_orders"])).partitions_def
    after = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    assert partitions.get_last_partition_key() in {before, after}


def test_polling_sensors_exist_only_for_sources_that_can_poll(home):
    from acctsync_pipelines.defs.available import available_sources
    from acctsync_pipelines.lib.polling import polls_activity

    definitions = load(home)
    names = {s.name for s in definitions.get_repository_def().sensor_defs}
    for source in available_sources(load_settings()):
        expected = source.name in sensors_module.POLLING_SOURCES and polls_activity(source)
        assert (f"{source.name}_api_poll" in names) == expected
        if expected:
            poll = definitions.resolve_sensor_def(f"{source.name}_api_poll")
            assert poll.default_status == dg.DefaultSensorStatus.STOPPED


def test_the_amazon_business_polling_sensor_requests_the_days_with_new_feed_entries(home, instance, monkeypatch):
    from acctsync_pipelines_tests.fakes.amazon_business_api import FakeAmazonBusinessApi
    from acctsync_pipelines_tests.lib.amazon_business.builders import item, txn

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    two_days_ago = now - dt.timedelta(days=2)
    stamp = two_days_ago.isoformat().replace("+00:00", "Z")
    fake = FakeAmazonBusinessApi(transactions=[
        txn("T-1", stamp, 1100, [item("250-0000001-0000001", 1, "ノート", 1100)], feed=stamp)])
    with fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        home.configure({"sources": {"amazon_business": {
            "inputs": ["api"], "api": {"base_url": fake.base_url, "token_url": fake.token_url}}}})
        definitions = load(home)
        if "amazon_business_daily" not in {j.name for j in definitions.get_repository_def().get_all_jobs()}:
            pytest.skip("the Amazon Business source is not available in this tree")
        sensor = Sensor(definitions, instance, "amazon_business_api_poll")
        (request,) = sensor.tick().run_requests
        assert request.job_name == "amazon_business_daily"
        assert request.partition_key == two_days_ago.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
        assert request.tags["acctsync/trigger"] == "api_poll"
        assert dt.datetime.fromisoformat(sensor.cursor) >= now
        assert sensor.tick().run_requests == []  # nothing new since the cursor
