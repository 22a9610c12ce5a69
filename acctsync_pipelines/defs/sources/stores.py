"""STORES: orders and remittances from ``$ACCTSYNC_HOME/inbox/stores/`` or the retail API, through the four stages."""

import dagster as dg

from acctsync_pipelines.defs.pipeline import build_source_pipeline
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.stores.source import SOURCE


@dg.definitions
def stores() -> dg.Definitions:
    if not load_settings().sources.stores.enabled:
        return dg.Definitions()
    return build_source_pipeline(SOURCE)
