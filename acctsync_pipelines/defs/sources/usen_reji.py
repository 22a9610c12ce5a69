"""USEN Reji: close bundles from ``$ACCTSYNC_HOME/inbox/usen_reji/`` through the four stages."""

import dagster as dg

from acctsync_pipelines.defs.pipeline import build_source_pipeline
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.usen_reji.source import SOURCE


@dg.definitions
def usen_reji() -> dg.Definitions:
    if not load_settings().sources.usen_reji.enabled:
        return dg.Definitions()
    return build_source_pipeline(SOURCE)
