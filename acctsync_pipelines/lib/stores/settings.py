"""Settings for sources.stores (validated as part of the one acctsync configuration)."""

from pydantic import ConfigDict

from acctsync_pipelines.lib.settings_base import SourceSettings


class StoresSettings(SourceSettings):
    # Placeholder until the STORES source defines its keys (issue 3).
    model_config = ConfigDict(extra="allow", frozen=True)
