"""Amazon Business: purchases from ``$ACCTSYNC_HOME/inbox/amazon_business/`` or the Reconciliation API."""

import dagster as dg

from acctsync_pipelines.defs.pipeline import build_source_pipeline
from acctsync_pipelines.lib.amazon_business.source import SOURCE
from acctsync_pipelines.lib.config import load_settings


@dg.definitions
def amazon_business() -> dg.Definitions:
    if not load_settings().sources.amazon_business.enabled:
        return dg.Definitions()
    return build_source_pipeline(SOURCE)
