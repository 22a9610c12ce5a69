"""A job over every source's four stages on Dagster's multiprocess executor (each step in its own
process), for the concurrency test. ``every_source_job`` is reconstructable: the step processes
import this module to find the job again."""

from __future__ import annotations

import warnings

import dagster as dg

from acctsync_pipelines_tests.reliability.conftest import FULL

# Fast: one source (its four steps in their own processes, beside the CLI runs of the others); full: all three.
SOURCES = ("usen_reji", "stores", "amazon_business") if FULL else ("usen_reji",)


def every_source_job() -> dg.JobDefinition:
    from acctsync_pipelines.definitions import defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = dg.define_asset_job("reliability_every_source", selection=dg.AssetSelection.key_prefixes(*SOURCES),
                                  executor_def=dg.multiprocess_executor.configured({"max_concurrent": 4}))
        return dg.Definitions.merge(defs(), dg.Definitions(jobs=[job])).resolve_job_def(job.name)
