"""Which sources get schedules and sensors: enabled in the configuration, and implemented here."""

from __future__ import annotations

import importlib
import importlib.util

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.sources import Source


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def available_sources(settings: Settings) -> list[Source]:
    """Enabled sources whose Dagster module (``defs/sources/<name>.py``) and ``SOURCE`` exist."""
    found = []
    for name in settings.enabled_sources:
        module_name = f"acctsync_pipelines.lib.{name}.source"
        if not (_module_exists(f"acctsync_pipelines.defs.sources.{name}") and _module_exists(module_name)):
            continue
        source = getattr(importlib.import_module(module_name), "SOURCE", None)
        if isinstance(source, Source):
            found.append(source)
    return found
