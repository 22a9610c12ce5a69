"""The settlement assets load with the code location: keys, group, partitions, checks, pool, job, lineage."""

import warnings

import dagster as dg

MATCHES = dg.AssetKey(["settlement", "matches"])
POSTED = dg.AssetKey(["settlement", "posted_entries"])


def load():
    from acctsync_pipelines.definitions import defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return defs()


def test_matches_and_posted_entries_per_tokyo_day_with_checks_and_a_job(home):
    home.configure({"settlement": {"start_date": "2025-04-01", "lookback_days": 90}})
    definitions = load()
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    matches, posted = graph.get(MATCHES), graph.get(POSTED)
    for node in (matches, posted):
        assert node.group_name == "settlement"
        assert node.partitions_def.timezone == "Asia/Tokyo"
        assert node.partitions_def.get_first_partition_key() == "2025-04-01"
    assert graph.get(POSTED).parent_keys == {MATCHES}

    specs = {spec.name: spec for spec in definitions.resolve_assets_def(MATCHES).check_specs}
    assert {name: spec.blocking for name, spec in specs.items()} == {
        "entries_balance": True, "settled_once": False, "overdue_receivables": False}

    # a day's deposits pay receivables booked over the lookback window before it
    upstream = dg.AssetKey(["usen_reji", "journal_entries"])
    assert upstream in matches.parent_keys
    mapping = definitions.resolve_assets_def(MATCHES).get_partition_mapping(upstream)
    assert (mapping.start_offset, mapping.end_offset) == (-90, 0)

    pools = {definitions.resolve_assets_def(key).op.pool for key in (MATCHES, POSTED)}
    assert pools == {"duckdb"}
    job = definitions.resolve_job_def("settlement_daily")
    assert set(job.asset_layer.executable_asset_keys) >= {MATCHES, POSTED}


def test_settlement_can_be_turned_off(home):
    home.configure({"settlement": {"enabled": False}})
    keys = load().resolve_asset_graph().get_all_asset_keys()
    assert not any(key.path[0] == "settlement" for key in keys)
