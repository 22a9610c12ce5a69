"""The code location loads, with the four assets per source, checks and jobs, named as documented."""


import dagster as dg
from acctsync_pipelines_tests.defs.conftest import load


def test_usen_reji_assets_checks_and_job(home):
    definitions = load(home)
    dg.Definitions.validate_loadable(definitions)
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    for stage in ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries"):
        assert f"usen_reji/{stage}" in keys
    graph = definitions.resolve_asset_graph()
    journal = graph.get(dg.AssetKey(["usen_reji", "journal_entries"]))
    assert journal.partitions_def.timezone == "Asia/Tokyo"
    checks = {c.name for c in graph.get_check_keys_for_assets({journal.key})}
    assert checks == {"entries_balance", "sales_match_slips", "cash_matches_close", "totals_match"}
    posted = graph.get(dg.AssetKey(["usen_reji", "posted_entries"]))
    assert {c.name for c in graph.get_check_keys_for_assets({posted.key})} == {"posted_match_journal"}
    assert definitions.resolve_job_def("usen_reji_daily") is not None


def test_start_date_and_enabled_come_from_configuration(home):
    home.configure({"sources": {"usen_reji": {"start_date": "2024-04-01"}}})
    graph = load(home).resolve_asset_graph()
    partitions = graph.get(dg.AssetKey(["usen_reji", "raw_orders"])).partitions_def
    assert partitions.get_first_partition_key() == "2024-04-01"
    home.configure({"sources": {"usen_reji": {"enabled": False}}})
    keys = {k.to_user_string() for k in load(home).resolve_asset_graph().get_all_asset_keys()}
    assert not any(k.startswith("usen_reji/") for k in keys)
