"""Resources shared by every source: the settings (ACCTSYNC_HOME / ACCTSYNC_CONFIG) and the warehouse."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from acctsync_pipelines.lib.config import Settings, acctsync_home, config_path, load_settings
from acctsync_pipelines.lib.warehouse import Warehouse

# Every step that opens the warehouse runs in this pool; data/dagster_home/dagster.yaml gives it one slot.
DUCKDB_POOL = "duckdb"


class AcctsyncResource(dg.ConfigurableResource):
    """Where the data lives and how to book it. Empty fields fall back to the environment."""

    home: str = ""
    config_file: str = ""

    @property
    def home_path(self) -> Path:
        return Path(self.home).resolve() if self.home else acctsync_home()

    @property
    def settings(self) -> Settings:
        return load_settings(Path(self.config_file) if self.config_file else config_path())

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.home_path / "warehouse.duckdb")


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"acctsync": AcctsyncResource()})
