"""QuickBooks Online and Zoho Books: one journal per claimed action, through the real Dagster job."""

from __future__ import annotations

import logging

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.targets import usen_days
from acctsync_pipelines_tests.lib.targets.conftest import journal_targets_config

DAY = "2025-06-02"
SALES = "usen_reji:0001:2025-06-02:sales"


def qbo_lines(fake, entry) -> list[tuple]:
    return sorted((line["JournalEntryLineDetail"]["PostingType"],
                   fake.account_name(line["JournalEntryLineDetail"]["AccountRef"]["value"]), line["Amount"])
                  for line in entry["Line"])


def zoho_lines(fake, journal) -> list[tuple]:
    return sorted((item["debit_or_credit"], fake.account_name(item["account_id"]), item["amount"])
                  for item in journal["line_items"])


def journal_lines(home, entry_id: str) -> list[tuple]:
    return sorted(home.query("SELECT side, account, amount FROM ledger.journal_entry_lines WHERE entry_id = ?",
                             [entry_id]))


def test_quickbooks_gets_one_journal_entry_per_action_and_reversals_swap_sides(home, quickbooks):
    inbox = home.inbox("usen_reji")
    usen_days.write(inbox, usen_days.store_day())
    home.configure(journal_targets_config(quickbooks=quickbooks, targets=["quickbooks"]))
    quickbooks.fail_next("POST", "/v3/company", "drop_after")  # created, answer lost: the resend is idempotent
    quickbooks.fail_next("POST", "/v3/company", "429")
    result = home.materialize("usen_reji", DAY)
    assert result.success, failure_text(result)
    assert quickbooks.problems == []
    entries = quickbooks.live_entries()
    assert len(entries) == 4
    assert len({e["PrivateNote"].split()[1] for e in entries}) == 4
    sales = next(e for e in entries if SALES in e["PrivateNote"])
    assert qbo_lines(quickbooks, sales) == sorted(
        ("Debit" if side == "debit" else "Credit", account, amount)
        for side, account, amount in journal_lines(home, SALES))
    assert {e["CurrencyRef"]["value"] for e in entries} == {"JPY"}
    request_ids = [r.query["requestid"] for r in quickbooks.requests("POST")]
    assert len(request_ids) == 6 and len(set(request_ids)) == 4  # the lost one and the 429 resent with their ids

    usen_days.write(inbox, usen_days.store_day(late_slip=True), close_seq=2)
    again = home.materialize("usen_reji", DAY)
    assert again.success, failure_text(again)
    entries = quickbooks.live_entries()
    assert len(entries) == 6  # the changed sales entry: a reversal and the new version; nothing else
    reversal = next(e for e in entries if f"{SALES} reverse#2" in e["PrivateNote"])
    swapped = sorted(("Credit" if p == "Debit" else "Debit", a, n) for p, a, n in qbo_lines(quickbooks, sales))
    assert qbo_lines(quickbooks, reversal) == swapped
    new = next(e for e in entries if f"{SALES} post#3" in e["PrivateNote"])
    assert ("Credit", "売上高", 5400 + 550) in qbo_lines(quickbooks, new)


def test_quickbooks_refuses_a_day_on_or_before_its_closing_date_and_sends_nothing(home, quickbooks):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    home.configure(journal_targets_config(quickbooks=quickbooks, targets=["quickbooks"]))
    quickbooks.book_close_date = DAY
    result = home.materialize("usen_reji", DAY)
    assert not result.success
    assert (f"{DAY} refused: the QuickBooks company's books are closed through {DAY} (its closing date); "
            f"nothing of {DAY} was sent") in failure_text(result)
    assert quickbooks.requests("POST") == [] and quickbooks.live_entries() == []
    assert home.query("SELECT count(*) FROM ledger.postings WHERE target = 'quickbooks'") == [(0,)]

    quickbooks.book_close_date = "2025-06-01"  # reopened up to the day: the next run posts it once
    again = home.materialize("usen_reji", DAY)
    assert again.success, failure_text(again)
    assert len(quickbooks.live_entries()) == 4


def test_quickbooks_refreshes_an_expired_token(home, quickbooks, caplog):
    caplog.set_level(logging.DEBUG)
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    home.configure(journal_targets_config(quickbooks=quickbooks, targets=["quickbooks"]))
    quickbooks.fail_next("POST", "/v3/company", "expire_token")
    result = home.materialize("usen_reji", DAY)
    assert result.success, failure_text(result)
    assert quickbooks.refreshes == 1 and len(quickbooks.live_entries()) == 4
    assert (home.root / "secrets" / "quickbooks_tokens.json").is_file()
    for secret in (*quickbooks.access_tokens, *quickbooks.refresh_tokens, quickbooks.client_secret):
        assert secret not in caplog.text
        assert secret.encode() not in home.warehouse.read_bytes()


def test_zoho_gets_one_journal_per_action_and_a_lost_answer_is_looked_up(home, zoho):
    inbox = home.inbox("usen_reji")
    usen_days.write(inbox, usen_days.store_day())
    home.configure(journal_targets_config(zoho=zoho, targets=["zoho_books"]))
    zoho.fail_next("POST", "/journals", "drop_after")
    zoho.fail_next("GET", "/chartofaccounts", "expire_token")
    result = home.materialize("usen_reji", DAY)
    assert result.success, failure_text(result)
    journals = zoho.live_journals()
    assert len(journals) == 4
    assert sorted(j["reference_number"] for j in journals) == sorted(
        r[0] for r in home.query("SELECT DISTINCT entry_id FROM ledger.journal_entry_lines"))
    assert zoho.requests("GET", "/journals")[0].query["reference_number"] == journals[0]["reference_number"]
    sales = next(j for j in journals if j["reference_number"] == SALES)
    assert zoho_lines(zoho, sales) == journal_lines(home, SALES)
    assert zoho.refreshes == 1
    assert all(r.headers["authorization"].startswith("Zoho-oauthtoken ") for r in zoho.requests())

    usen_days.write(inbox, usen_days.store_day(late_slip=True), close_seq=2)
    assert home.materialize("usen_reji", DAY).success
    journals = zoho.live_journals()
    assert len(journals) == 6
    reversal = next(j for j in journals if "reverse#2" in j["notes"])
    assert zoho_lines(zoho, reversal) == sorted(
        ("credit" if side == "debit" else "debit", account, amount) for side, account, amount in zoho_lines(zoho, sales))


def test_all_targets_at_once_keep_their_own_logs(home, quickbooks, zoho):
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    home.configure(journal_targets_config(quickbooks, zoho, targets=["yayoi_csv", "quickbooks", "zoho_books"]))
    result = home.materialize("usen_reji", DAY)
    assert result.success, failure_text(result)
    assert home.query("SELECT target, count(*) FROM ledger.postings GROUP BY target ORDER BY target") == [
        ("quickbooks", 4), ("yayoi_csv", 4), ("zoho_books", 4)]
    assert len(quickbooks.live_entries()) == len(zoho.live_journals()) == 4


def test_an_unknown_account_fails_the_day_before_anything_is_sent(home, zoho):
    del zoho.accounts["旅費交通費"]
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    home.configure(journal_targets_config(zoho=zoho, targets=["zoho_books"]))
    result = home.materialize("usen_reji", DAY)
    assert not result.success
    assert "accounts '旅費交通費' do not exist at the target" in failure_text(result)
    assert zoho.requests("POST") == []
