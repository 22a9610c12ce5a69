"""Settings for sources.amazon_business (validated as part of the one acctsync configuration)."""

from pydantic import ConfigDict

from acctsync_pipelines.lib.settings_base import SourceSettings


class AmazonBusinessSettings(SourceSettings):
    # Placeholder until the Amazon Business source defines its keys (issue 4).
    model_config = ConfigDict(extra="allow", frozen=True)
