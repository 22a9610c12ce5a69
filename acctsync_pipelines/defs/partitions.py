"""Daily partitions in the business timezone (Asia/Tokyo by default), one definition per source."""

import dagster as dg

from acctsync_pipelines.lib.config import load_settings


def daily_partitions(source: str) -> dg.DailyPartitionsDefinition:
    settings = load_settings()
    return dg.DailyPartitionsDefinition(
        start_date=settings.source(source).start_date.isoformat(), timezone=settings.timezone,
        # Today is a partition only when configured (sensors.inbox.include_today); by default the
        # last partition is the previous, closed business day.
        end_offset=1 if settings.sensors.inbox.include_today else 0,
    )
