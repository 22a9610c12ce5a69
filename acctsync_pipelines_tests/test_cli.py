"""`acctsync run` through Dagster in process: progress per day, a summary, failed days named."""

from acctsync_pipelines.cli import main
from acctsync_pipelines_tests.lib.usen_reji.bundles import DAY1, DAY2, event_day, simple_day, write


def test_run_a_range_with_one_bad_day(home, capsys):
    inbox = home.inbox("usen_reji")
    write(inbox, simple_day(DAY1))
    bad = write(inbox, event_day(DAY2))
    text = (bad / "payments.csv").read_bytes().decode("cp932").replace("B,クレジット", "B,ツケ")
    (bad / "payments.csv").write_bytes(text.encode("cp932"))
    write(inbox, simple_day(DAY2.replace(day=4)))

    code = main(["run", "--source", "usen_reji", "--start", "2025-06-02", "--end", "2025-06-04"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "[1/3] usen_reji 2025-06-02  ok" in out
    assert "[2/3] usen_reji 2025-06-03  FAILED" in out
    assert "[3/3] usen_reji 2025-06-04  ok" in out
    assert "Summary: 2 day(s) ok, 1 failed" in out
    assert "- usen_reji 2025-06-03:" in err
    assert "payments.csv: row 3: column 支払区分: value 'ツケ': slip B: unknown 支払区分" in err
    assert [p.name for p in home.export_files()] == ["usen_reji_20250602_001.csv", "usen_reji_20250604_001.csv"]

    # fixed and re-run: only the failed day posts; the others send nothing
    (bad / "payments.csv").write_bytes(text.replace("B,ツケ", "B,クレジット").encode("cp932"))
    assert main(["run", "--source", "all", "--start", "2025-06-02", "--end", "2025-06-04"]) == 0
    out, _ = capsys.readouterr()
    usen_lines = [line for line in out.splitlines() if " usen_reji 2025-06-0" in line]
    assert [("nothing new to post" in line) for line in usen_lines] == [True, False, True]
    assert len(home.export_files()) == 3


def test_refuses_bad_arguments_before_touching_data(home, capsys):
    home.configure({"sources": {"usen_reji": {"start_date": "2025-06-01"}}})
    assert main(["run", "--source", "usen_reji", "--start", "2025-05-31", "--end", "2025-06-01"]) == 2
    assert "before sources.usen_reji.start_date (2025-06-01)" in capsys.readouterr().err
    assert main(["run", "--source", "usen_reji", "--start", "2025-06-03", "--end", "2025-06-02"]) == 2
    assert "--end 2025-06-02 is before --start 2025-06-03" in capsys.readouterr().err
    assert main(["run", "--source", "usen_reji", "--start", "2025-06-02", "--end", "2999-01-01"]) == 2
    assert "not a finished business day" in capsys.readouterr().err
    assert not home.warehouse.exists()


def test_invalid_configuration_names_file_key_and_allowed_values(home, capsys):
    path = home.configure({"sources": {"usen_reji": {"granularity": "weekly"}}})
    assert main(["run", "--source", "usen_reji", "--start", "2025-06-02", "--end", "2025-06-02"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "sources.usen_reji.granularity: Input should be 'daily_summary' or 'per_slip' (got 'weekly')" in err
    assert not home.warehouse.exists()


def test_turned_off_source_is_refused(home, capsys):
    home.configure({"sources": {"usen_reji": {"enabled": False}}})
    assert main(["run", "--source", "usen_reji", "--start", "2025-06-02", "--end", "2025-06-02"]) == 2
    assert "turned off" in capsys.readouterr().err


def test_run_publishes_the_analysts_copy_and_skips_it_when_nothing_changed(home, capsys):
    import duckdb

    write(home.inbox("usen_reji"), simple_day(DAY1))
    assert main(["run", "--source", "usen_reji", "--start", "2025-06-02", "--end", "2025-06-02"]) == 0
    copy = home.root / "published" / "acctsync.duckdb"
    assert f"Analysts' copy: {copy}" in capsys.readouterr().out
    with duckdb.connect(str(copy), read_only=True) as analyst:
        assert analyst.execute("SELECT count(*) FROM ledger.journal_lines").fetchone() == (2,)
        # an analyst holding the copy open does not block the next run
        assert main(["run", "--source", "usen_reji", "--start", "2025-06-02", "--end", "2025-06-02"]) == 0
    out = capsys.readouterr().out
    assert "nothing new to post" in out
