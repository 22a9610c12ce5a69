"""freee: real USEN days through the real Dagster job into a loopback freee that checks every body
against freee's OpenAPI schema. Asserts what freee received and holds, and what the posting log says."""

from __future__ import annotations

import datetime as dt
import json
import logging
import stat

import pytest

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.targets import usen_days
from acctsync_pipelines_tests.lib.targets.conftest import freee_config

DAY = "2025-06-02"
SALES = "usen_reji:0001:2025-06-02:sales"
WRITES = ("POST", "PUT", "DELETE")


def run_day(home, fake, **config):
    home.configure(freee_config(fake, create_sections=True, **config))
    return home.materialize("usen_reji", DAY)


def writes(fake, path_prefix="/api/1/"):
    return [r for r in fake.requests(path_prefix=path_prefix) if r.method in WRITES]


def documents_by_ref(fake) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for document in fake.live_deals() + fake.live_journals():
        found.setdefault(document["ref_number"], []).append(document)
    return found


def detail_view(fake, deal) -> list[tuple]:
    return sorted((fake.account_name(d["account_item_id"]), d["tax_code"], fake.item_name(d["item_id"]),
                   d["amount"], d["vat"]) for d in deal["details"])


def test_a_usen_day_becomes_one_document_per_entry(home, freee):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    result = run_day(home, freee, targets=["yayoi_csv", "freee"])
    assert result.success, failure_text(result)
    assert freee.problems == []
    assert [p.name for p in home.export_files()] == ["usen_reji_20250602_001.csv"]  # Yayoi still gets its file

    # one document per entry, each created once
    entries = home.query("SELECT count(DISTINCT entry_id) FROM ledger.journal_entry_lines")[0][0]
    by_ref = documents_by_ref(freee)
    assert len(by_ref) == entries == 4
    assert all(len(docs) == 1 for docs in by_ref.values())
    assert len(writes(freee, "/api/1/deals")) + len(writes(freee, "/api/1/manual_journals")) == 4

    sales = next(d for d in freee.live_deals() if d["type"] == "income")
    assert detail_view(freee, sales) == sorted([
        ("売上高", 129, "【POS Reg】クレジット", 3300, 299),
        ("売上高", 129, "【POS Reg】商品券", 1000, 91),
        ("売上高", 129, "【POS Reg】現金", 1100, 100),
        ("売上高", 156, "【POS Reg】クレジット", 1080, 80),
        ("売上高", 156, "【POS Reg】現金", 2160, 160),
    ])
    # tax once per rate per document: the details' vat adds up to the journal's tax per rate
    journal_tax = dict(home.query(
        "SELECT tax_category, tax_amount FROM ledger.journal_entry_lines WHERE entry_id = ? AND side = 'credit'",
        [SALES]))
    assert journal_tax == {"sales_10": 490, "sales_8r": 240}
    assert {freee.section_name(d["section_id"]) for d in sales["details"]} == {"渋谷本店"}
    # cash settled at once, the rest stays 未決済 (receivable)
    assert [(p["amount"], p["from_walletable_type"]) for p in sales["payments"]] == [(3260, "wallet")]
    assert (sales["status"], sales["due_amount"]) == ("unsettled", 3300 + 1080 + 1000)

    transport = next(d for d in freee.live_deals() if d["type"] == "expense")
    assert detail_view(freee, transport) == [("旅費交通費", 136, None, 420, 38)]
    assert transport["status"] == "settled"

    journals = {tuple(sorted((d["entry_side"], freee.account_name(d["account_item_id"]), d["amount"], d["tax_code"])
                             for d in j["details"])) for j in freee.live_journals()}
    assert journals == {
        (("credit", "現金", 100, 2), ("debit", "雑損失", 100, 2)),        # 過不足 (short)
        (("credit", "現金", 3000, 2), ("debit", "普通預金", 3000, 2)),    # 銀行預入
    }

    # the posting log knows each document's freee id
    refs = home.query("""SELECT entry_id, operation, target_ref FROM ledger.posting_results
                         WHERE target = 'freee' AND status = 'done' ORDER BY entry_id""")
    assert [r[0] for r in refs] == [r[0] for r in home.query(
        "SELECT DISTINCT entry_id FROM ledger.journal_entry_lines ORDER BY entry_id")]
    assert {(r[1], r[2]) for r in refs} == (
        {("create_deal", str(d["id"])) for d in freee.live_deals()}
        | {("create_manual_journal", str(j["id"])) for j in freee.live_journals()})

    # running the day again sends nothing
    sent = len(writes(freee))
    again = home.materialize("usen_reji", DAY)
    assert again.success and len(writes(freee)) == sent


@pytest.mark.parametrize("mode", ["update", "recreate"])
def test_a_reclose_sends_only_the_changed_entry(home, freee, mode):
    inbox = home.inbox("usen_reji")
    usen_days.write(inbox, usen_days.store_day())
    assert run_day(home, freee, change_mode=mode).success
    sales_before = next(d for d in freee.live_deals() if d["type"] == "income")
    before = len(freee.received)

    usen_days.write(inbox, usen_days.store_day(late_slip=True), close_seq=2)  # one more cash slip of 550
    result = run_day(home, freee, change_mode=mode)
    assert result.success, failure_text(result)
    assert freee.problems == []
    changed = [(r.method, r.path) for r in freee.received[before:] if r.method in WRITES]
    sales_after = [d for d in freee.live_deals() if d["type"] == "income"]
    assert len(sales_after) == 1
    if mode == "update":
        assert changed[0] == ("PUT", f"/api/1/deals/{sales_before['id']}")
        assert changed[1][0] == "PUT" and "/payments/" in changed[1][1]
        assert len(changed) == 2
        assert sales_after[0]["id"] == sales_before["id"]
    else:
        assert changed == [("DELETE", f"/api/1/deals/{sales_before['id']}"), ("POST", "/api/1/deals")]
    sales = sales_after[0]
    assert ("売上高", 129, "【POS Reg】現金", 1650, 150) in detail_view(freee, sales)
    assert [p["amount"] for p in sales["payments"]] == [3260 + 550]
    assert len(freee.live_deals()) + len(freee.live_journals()) == 4
    operations = home.query("""SELECT action, operation FROM ledger.posting_results r
                               JOIN ledger.postings p USING (target, entry_id, action_seq)
                               WHERE r.target = 'freee' AND r.entry_id = ? AND r.status = 'done' AND p.action_seq > 1
                               ORDER BY r.action_seq""", [SALES])
    assert operations == ([("reverse", "replace"), ("post", "update_deal")] if mode == "update"
                          else [("reverse", "delete_deal"), ("post", "create_deal")])


def test_a_lost_answer_after_a_create_is_looked_up_not_resent(home, freee):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    freee.fail_next("POST", "/api/1/deals", "drop_after")  # freee creates it, the connection drops
    freee.fail_next("POST", "/api/1/manual_journals", "500_after")  # freee creates it, then answers 500
    result = run_day(home, freee)
    assert result.success, failure_text(result)
    by_ref = documents_by_ref(freee)
    assert len(by_ref) == 4 and all(len(docs) == 1 for docs in by_ref.values())
    # the lost ones were found, not sent again
    assert len(writes(freee, "/api/1/deals")) == 2 and len(writes(freee, "/api/1/manual_journals")) == 2
    lookups = freee.requests("GET", "/api/1/deals")
    assert lookups and lookups[0].query["start_issue_date"] == DAY
    assert freee.requests("GET", "/api/1/manual_journals")[0].query["ref_number"].startswith("AS")
    assert home.query("""SELECT operation, count(*) FROM ledger.posting_results
                         WHERE operation LIKE 'found_%' GROUP BY ALL ORDER BY ALL""") == [
        ("found_deal", 1), ("found_manual_journal", 1)]


def test_an_answer_lost_across_runs_is_found_by_the_next_run(home, freee):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    freee.fail_next("POST", "/api/1/deals", "drop_after")
    freee.fail_next("GET", "/api/1/deals", "500", times=10)  # and the lookup cannot get through either
    first = run_day(home, freee)
    assert not first.success
    assert "HTTP 500" in failure_text(first)
    assert len(freee.live_deals()) == 1  # freee has it; our log only says 'sending'
    assert home.query("""SELECT arg_max(status, attempt) FROM ledger.posting_results
                         GROUP BY entry_id, action_seq HAVING arg_max(status, attempt) <> 'done'""") == [("sending",)]

    freee.faults.clear()
    second = run_day(home, freee)
    assert second.success, failure_text(second)
    by_ref = documents_by_ref(freee)
    assert len(by_ref) == 4 and all(len(docs) == 1 for docs in by_ref.values())
    assert len(writes(freee, "/api/1/deals")) == 2


def test_429_403_and_500_are_retried_and_nothing_is_duplicated(home, freee):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    freee.fail_next("GET", "/api/1/account_items", "429")
    freee.fail_next("GET", "/api/1/sections", "403_limited")
    freee.fail_next("POST", "/api/1/manual_journals", "500")  # refused before creating anything
    result = run_day(home, freee)
    assert result.success, failure_text(result)
    assert freee.faults == []
    by_ref = documents_by_ref(freee)
    assert len(by_ref) == 4 and all(len(docs) == 1 for docs in by_ref.values())
    assert len(writes(freee, "/api/1/manual_journals")) == 3  # the 500, its retry, the other journal


def test_posting_resumes_where_it_stopped(home, freee):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    freee.fail_next("POST", "/api/1/manual_journals", "500", times=20)
    first = run_day(home, freee)
    assert not first.success
    sent_first = {d["ref_number"] for d in freee.live_deals() + freee.live_journals()}
    assert 0 < len(sent_first) < 4

    freee.faults.clear()
    second = run_day(home, freee)
    assert second.success, failure_text(second)
    by_ref = documents_by_ref(freee)
    assert len(by_ref) == 4 and all(len(docs) == 1 for docs in by_ref.values())
    assert home.query("SELECT count(*) FROM ledger.postings WHERE target = 'freee'") == [(4,)]  # claimed once


def test_the_daily_call_budget_stops_posting_and_the_next_run_finishes(home, freee):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    first = run_day(home, freee, daily_call_budget=12)
    assert not first.success
    assert "daily call budget (12 calls for company 3141" in failure_text(first)
    assert len(freee.received) - freee.refreshes <= 12
    second = run_day(home, freee, daily_call_budget=100)
    assert second.success, failure_text(second)
    by_ref = documents_by_ref(freee)
    assert len(by_ref) == 4 and all(len(docs) == 1 for docs in by_ref.values())


def test_a_day_outside_the_fiscal_years_is_refused_before_anything_is_sent(home, freee):
    freee.fiscal_years = [("2024-01-01", "2024-12-31", False)]
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    result = run_day(home, freee, targets=["yayoi_csv", "freee"])
    assert not result.success
    text = failure_text(result)
    assert f"{DAY} refused: outside the company's fiscal years (当年会計期間外" in text
    assert writes(freee) == []
    assert home.query("SELECT count(*) FROM ledger.postings WHERE target = 'freee'") == [(0,)]

    freee.fiscal_years.append(("2025-01-01", "2025-12-31", False))  # the accountant opens 2025
    again = run_day(home, freee, targets=["yayoi_csv", "freee"])
    assert again.success, failure_text(again)
    assert len(freee.live_deals()) + len(freee.live_journals()) == 4


def test_rated_tax_codes_before_october_2019_are_refused(home, freee):
    day = dt.date(2019, 9, 30)
    freee.fiscal_years = [("2019-01-01", "2019-12-31", False)]
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day(day))
    config = freee_config(freee, create_sections=True)
    config["sources"]["usen_reji"]["start_date"] = "2019-01-01"
    home.configure(config)
    result = home.materialize("usen_reji", day.isoformat())
    assert not result.success
    assert ("2019-09-30 refused: tax categories purchase_10, sales_10, sales_8r (10% / 軽減8%) do not exist before "
            "2019-10-01") in failure_text(result)
    assert writes(freee) == []


def test_missing_accounts_and_sections_fail_the_day_with_their_names(home, freee):
    del freee.accounts["旅費交通費"]
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    home.configure(freee_config(freee))  # sections are not created unless configured
    result = home.materialize("usen_reji", DAY)
    assert not result.success
    text = failure_text(result)
    assert "account '旅費交通費' does not exist in freee company 3141" in text
    assert "部門 '渋谷本店' do not exist in freee company 3141" in text
    assert writes(freee) == []


def test_tokens_refresh_rotate_durably_and_never_show(home, freee, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    old_access, old_refresh = freee.access_tokens.copy().pop(), freee.refresh_tokens.copy().pop()
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    freee.fail_next("GET", "/api/1/companies", "expire_token")  # the 6-hour access token ran out
    freee.fail_next("POST", "/api/1/deals", "expire_token")
    result = run_day(home, freee)
    assert result.success, failure_text(result)
    assert freee.refreshes == 2

    token_file = home.root / "secrets" / "freee_tokens.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = json.loads(token_file.read_text())
    assert stored["refresh_token"] in freee.refresh_tokens  # the newest, still unused
    assert stored["access_token"] in freee.access_tokens
    assert old_refresh not in freee.refresh_tokens  # single-use: spent

    # a later run starts from the token file, not from the spent environment tokens
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day(late_slip=True), close_seq=2)
    assert run_day(home, freee).success
    assert freee.refreshes == 2

    secrets = {old_access, old_refresh, stored["access_token"], stored["refresh_token"], freee.client_secret,
               *freee.access_tokens, *freee.refresh_tokens}
    warehouse = home.warehouse.read_bytes()
    captured = capfd.readouterr()
    logs = caplog.text + captured.out + captured.err + failure_text(result)
    for secret in secrets:
        assert secret.encode() not in warehouse
        assert secret not in logs


def test_a_refused_refresh_fails_the_day_without_showing_the_token(home, freee):
    freee.refresh_tokens.clear()  # revoked
    freee.expire_access_tokens()
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    result = run_day(home, freee)
    assert not result.success
    text = failure_text(result)
    assert "token refresh refused (HTTP 401, invalid_grant)" in text
    assert "secretR" not in text and "secretA" not in text
    assert writes(freee) == []
