"""Settings for running acctsync unattended: schedules, sensors and the analysts' published copy.

Keys live under ``schedules:``, ``sensors:`` and ``publish:`` in the configuration file; the defaults
are in ``lib/defaults.yaml``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from acctsync_pipelines.lib.settings_base import Strict

Status = Literal["running", "stopped"]
NonNegative = Annotated[int, Field(ge=0)]
Interval = Annotated[int, Field(ge=1, le=86400)]


class LookbackDays(Strict):
    """Days before the previous business day that the nightly pass re-runs, per source."""

    usen_reji: Annotated[int, Field(ge=0, le=366)] = 3
    stores: Annotated[int, Field(ge=0, le=366)] = 7
    amazon_business: Annotated[int, Field(ge=0, le=366)] = 7


class ScheduleSettings(Strict):
    hour: Annotated[int, Field(ge=0, le=23)] = 3
    minute: Annotated[int, Field(ge=0, le=59)] = 0
    default_status: Status = "running"
    lookback_days: LookbackDays = LookbackDays()


class InboxSensorSettings(Strict):
    default_status: Status = "running"
    interval_seconds: Interval = 30
    include_today: bool = False
    max_files_per_tick: Annotated[int, Field(ge=1)] = 2000
    max_seconds_per_tick: Annotated[float, Field(gt=0, le=50)] = 20.0
    max_days_per_run: Annotated[int, Field(ge=1, le=366)] = 31


class PollingSensorSettings(Strict):
    default_status: Status = "stopped"
    interval_seconds: Interval = 900


class PollingSensors(Strict):
    stores: PollingSensorSettings = PollingSensorSettings()
    amazon_business: PollingSensorSettings = PollingSensorSettings()


class SensorSettings(Strict):
    inbox: InboxSensorSettings = InboxSensorSettings()
    polling: PollingSensors = PollingSensors()


class PublishSettings(Strict):
    enabled: bool = True
    default_status: Status = "running"
    interval_seconds: Interval = 30
    parquet: bool = True
    keep_parquet_versions: Annotated[int, Field(ge=1, le=10)] = 2
