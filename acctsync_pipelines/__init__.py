"""acctsync_pipelines: open accounting sync for Japanese small businesses, as a Dagster code location."""
