"""acctsync configuration: one YAML file deep-merged over the bundled defaults, validated by pydantic.

Paths and secrets come from the environment:
- ``ACCTSYNC_HOME``: the data root (default: the project's ``data/``).
- ``ACCTSYNC_CONFIG``: the YAML file (default: ``$ACCTSYNC_HOME/acctsync.yaml`` if present).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, ValidationError

from acctsync_pipelines.lib.amazon_business.settings import AmazonBusinessSettings
from acctsync_pipelines.lib.automation_settings import PublishSettings, ScheduleSettings, SensorSettings
from acctsync_pipelines.lib.settings_base import SourceSettings, Strict, TaxCategory
from acctsync_pipelines.lib.settlement.settings import SettlementSettings
from acctsync_pipelines.lib.stores.settings import StoresSettings
from acctsync_pipelines.lib.targets.settings import FreeeSettings, QuickBooksSettings, ZohoBooksSettings
from acctsync_pipelines.lib.usen_reji.settings import UsenRejiSettings

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

SOURCE_NAMES = ("usen_reji", "stores", "amazon_business")


class ConfigError(ValueError):
    """The configuration file is unreadable or invalid; the message names file, key and allowed values."""


_Strict = Strict


class TaxRateCategories(_Strict):
    sales: TaxCategory
    purchase: TaxCategory


class TaxSettings(_Strict):
    rounding: Literal["down", "half_up", "up"] = "down"
    rates: dict[int, TaxRateCategories]


class Accounts(_Strict):
    cash: str
    bank: str
    receivable: str
    sales: str
    fees: str
    cash_short: str
    cash_over: str
    suspense_received: str
    suspense_paid: str
    accrued: str
    prepaid: str
    misc_income: str


class Sources(_Strict):
    usen_reji: UsenRejiSettings
    stores: StoresSettings
    amazon_business: AmazonBusinessSettings


class YayoiSettings(_Strict):
    encoding: Literal["cp932", "shift_jis", "utf-8"] = "cp932"
    tax_categories: dict[TaxCategory, str]
    qualified_suffix: str = "適格"
    guessed_sticky_note: int = 1


class Targets(_Strict):
    model_config = ConfigDict(extra="allow", frozen=True)
    yayoi_csv: YayoiSettings
    freee: FreeeSettings
    quickbooks: QuickBooksSettings
    zoho_books: ZohoBooksSettings


class Settings(_Strict):
    timezone: str = "Asia/Tokyo"
    tax: TaxSettings
    accounts: Accounts
    suspense_accounts: list[str]
    sources: Sources
    targets: Targets
    settlement: SettlementSettings
    schedules: ScheduleSettings = ScheduleSettings()
    sensors: SensorSettings = SensorSettings()
    publish: PublishSettings = PublishSettings()

    @property
    def enabled_sources(self) -> list[str]:
        return [name for name in SOURCE_NAMES if getattr(self.sources, name).enabled]

    def source(self, name: str) -> SourceSettings:
        return getattr(self.sources, name)


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def acctsync_home() -> Path:
    return Path(os.environ.get("ACCTSYNC_HOME") or PROJECT_ROOT / "data").resolve()


def config_path() -> Path | None:
    explicit = os.environ.get("ACCTSYNC_CONFIG")
    if explicit:
        return Path(explicit)
    candidate = acctsync_home() / "acctsync.yaml"
    return candidate if candidate.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (ACCTSYNC_CONFIG)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, not {type(loaded).__name__}")
    return loaded


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    got = error.get("input")
    got_text = "" if isinstance(got, dict) else f" (got {got!r})"
    return f"{key}: {error['msg']}{got_text}"


def _unknown_key_hint(error: dict[str, Any], merged: dict[str, Any]) -> str:
    """For an unknown key, list the keys allowed at that level."""
    if error["type"] != "extra_forbidden":
        return ""
    node: Any = DEFAULTS
    for part in error["loc"][:-1]:
        if not isinstance(node, dict) or part not in node:
            return ""
        node = node[part]
    if isinstance(node, dict):
        return f"; allowed keys: {', '.join(sorted(map(str, node)))}"
    return ""


def _bundled_defaults() -> dict[str, Any]:
    defaults = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    for source in SOURCE_NAMES:
        own = DEFAULTS_FILE.parent / source / "defaults.yaml"
        defaults["sources"][source] = yaml.safe_load(own.read_text(encoding="utf-8")) or {}
    settlement = DEFAULTS_FILE.parent / "settlement" / "defaults.yaml"
    defaults["settlement"] = yaml.safe_load(settlement.read_text(encoding="utf-8")) or {}
    return defaults


DEFAULTS: dict[str, Any] = _bundled_defaults()


def load_settings(path: Path | None = None) -> Settings:
    """Read, merge and validate the configuration. Raises ConfigError naming file, key and allowed values."""
    path = path if path is not None else config_path()
    user = _read_yaml(path) if path is not None else {}
    merged = deep_merge(DEFAULTS, user)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        where = str(path) if path is not None else "bundled defaults"
        problems = [f"  - {_describe(e)}{_unknown_key_hint(e, merged)}" for e in exc.errors()]
        raise ConfigError(f"invalid configuration in {where}:\n" + "\n".join(problems)) from None
