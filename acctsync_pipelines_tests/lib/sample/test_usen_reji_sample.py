"""The committed sample is exactly what the deterministic generator writes."""

import filecmp

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines.lib.sample import SAMPLE_DAYS, SAMPLE_START
from acctsync_pipelines.lib.sample.usen_reji import write_sample


def test_committed_usen_sample_matches_the_generator(tmp_path):
    write_sample(tmp_path, start=SAMPLE_START, days=SAMPLE_DAYS)
    committed = PROJECT_ROOT / "data" / "inbox" / "usen_reji"
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path, committed, [str(p) for p in generated], shallow=False)
    assert (mismatch, errors) == ([], [])


def test_sample_has_the_promised_cases(tmp_path):
    store_days = write_sample(tmp_path, start=SAMPLE_START, days=SAMPLE_DAYS)
    slips = [s for sd in store_days for s in sd.slips]
    assert any(len(s.payments) > 1 for s in slips), "split tender"
    assert any(line[3] == 8 for s in slips for line in s.lines), "8% take-out"
    assert any(s.kind == "取消" for s in slips) and any(s.kind == "訂正" for s in slips)
    assert len(list(tmp_path.glob("*_2"))) == 1, "one re-close"
    by_day = {(sd.store_code, sd.day): {s.no for s in sd.slips} for sd in store_days}
    cross_day = [s for sd in store_days for s in sd.slips
                 if s.kind == "取消" and s.original not in by_day[(sd.store_code, sd.day)]]
    assert cross_day, "a cancellation of an earlier day's slip"
