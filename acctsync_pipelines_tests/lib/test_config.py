"""One YAML file, deep-merged over bundled defaults, validated before any data is touched."""

import datetime as dt

import pytest

from acctsync_pipelines.lib.config import ConfigError, deep_merge, load_settings


def test_defaults_alone_are_valid_and_come_from_the_spec(home):
    settings = load_settings()
    assert settings.sources.usen_reji.granularity == "daily_summary"
    assert settings.sources.usen_reji.tenders["クレジット"].sub_account == "【POS Reg】クレジット"
    assert settings.accounts.sales == "売上高"
    assert settings.targets.yayoi_csv.tax_categories["sales_8r"] == "課税売上内軽減8%"
    assert settings.tax.rounding == "down"


def test_a_file_with_one_key_is_merged_over_the_defaults(home):
    home.configure({"sources": {"usen_reji": {"granularity": "per_slip"}}})
    settings = load_settings()
    assert settings.sources.usen_reji.granularity == "per_slip"
    assert settings.sources.usen_reji.tenders["現金"].account == "現金"  # still the default


def test_explicit_config_path_wins(home, tmp_path, monkeypatch):
    other = tmp_path / "other.yaml"
    other.write_text("sources:\n  usen_reji:\n    start_date: 2024-04-01\n", encoding="utf-8")
    monkeypatch.setenv("ACCTSYNC_CONFIG", str(other))
    assert load_settings().sources.usen_reji.start_date == dt.date(2024, 4, 1)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"sources": {"usen_reji": {"granularity": "weekly"}}},
         "sources.usen_reji.granularity: Input should be 'daily_summary' or 'per_slip' (got 'weekly')"),
        ({"sources": {"usen_reji": {"granulrity": "per_slip"}}},
         "sources.usen_reji.granulrity: unknown key; allowed keys: cash_movement_rules, columns, departments"),
        ({"tax": {"rounding": "banker"}},
         "tax.rounding: Input should be 'down', 'half_up' or 'up' (got 'banker')"),
        ({"sources": {"usen_reji": {"cash_movement_rules": [{"direction": "入金", "reason": "x"}]}}},
         "sources.usen_reji.cash_movement_rules.0.account: Field required"),
        ({"sources": {"usen_reji": {"columns": {"slips": {"amount": 5}}}}},
         "sources.usen_reji.columns.slips.amount: Input should be a valid string (got 5)"),
    ],
)
def test_wrong_keys_and_values_name_file_key_and_allowed_values(home, config, expected):
    path = home.configure(config)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_unreadable_yaml_is_refused(home):
    (home.root / "acctsync.yaml").write_text("sources: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings()


def test_deep_merge_merges_mappings_and_replaces_lists():
    assert deep_merge({"a": {"b": 1, "c": [1, 2]}}, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}}
