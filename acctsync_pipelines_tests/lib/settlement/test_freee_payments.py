"""freee: a settlement is a payment on each deal it settles (POST /api/1/deals/{id}/payments) from the
bank 口座, and the fee an expense deal paid from it, against the loopback freee that checks every body
against freee's OpenAPI schema."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.settlement.scenario import card_rule, deposit, settle, write_statement
from acctsync_pipelines_tests.lib.targets import usen_days
from acctsync_pipelines_tests.lib.targets.conftest import freee, freee_config  # noqa: F401 (fixture)

D = dt.date
BANK = "三井住友銀行 普通"
WRITES = ("POST", "PUT", "DELETE")


def configure(home, fake):
    config = freee_config(fake, create_sections=True)
    config["settlement"] = {
        "start_date": "2025-06-01", "targets": ["freee"], "freee": {"walletable": BANK},
        "rules": [card_rule(fee_rate=0.0324, tolerance_yen=3)],
    }
    home.configure(config)


def writes(fake) -> list[tuple[str, str, dict]]:
    return [(r.method, r.path, r.body) for r in fake.requests(path_prefix="/api/1/") if r.method in WRITES]


def test_a_card_deposit_pays_the_sale_days_deal_and_books_the_fee(home, freee):  # noqa: F811
    bank_id = freee.walletables[("bank_account", BANK)] = freee._id()
    configure(home, freee)
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())  # 6/2: card 4380, voucher 1000, 銀行預入 3000
    assert home.materialize("usen_reji", "2025-06-02").success
    (sales,) = [d for d in freee.live_deals() if d["type"] == "income"]
    assert (sales["due_amount"], sales["status"]) == (5380, "unsettled")
    before = len(writes(freee))

    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 4380 - 142),
                                         deposit(D(2025, 6, 4), "ATM ﾆｭｳｷﾝ", 3000)])
    # freee takes the payment, then the answer is lost: it is found on the deal, never paid twice
    freee.fail_next("POST", f"/api/1/deals/{sales['id']}/payments", "drop_after")
    result = settle(home, "2025-06-04")
    assert result.success, failure_text(result)
    assert freee.problems == []

    sent = writes(freee)[before:]
    assert [(method, path) for method, path, _ in sent] == [
        ("POST", f"/api/1/deals/{sales['id']}/payments"), ("POST", "/api/1/deals")]
    assert sent[0][2] == {"company_id": freee.company_id, "date": "2025-06-04", "amount": 4380,
                          "from_walletable_type": "bank_account", "from_walletable_id": bank_id}
    fee_body = sent[1][2]
    assert (fee_body["type"], fee_body["issue_date"]) == ("expense", "2025-06-04")
    assert [(freee.account_name(d["account_item_id"]), d["tax_code"], d["amount"]) for d in fee_body["details"]] == [
        ("支払手数料", 37, 142)]
    assert fee_body["payments"] == [{"amount": 142, "date": "2025-06-04", "from_walletable_type": "bank_account",
                                     "from_walletable_id": bank_id}]
    # the sale's deal: cash settled at the register, the card part from the bank; the voucher stays open
    (sales,) = [d for d in freee.live_deals() if d["id"] == sales["id"]]
    assert sorted((p["amount"], p["from_walletable_type"]) for p in sales["payments"]) == [
        (3260, "wallet"), (4380, "bank_account")]
    assert sales["due_amount"] == 1000
    payment_id = next(p["id"] for p in sales["payments"] if p["from_walletable_type"] == "bank_account")
    (fee_deal,) = [d for d in freee.live_deals() if d["type"] == "expense" and d["issue_date"] == "2025-06-04"]
    assert fee_deal["status"] == "settled"
    # the register's 銀行預入 is already in freee through the USEN day: nothing is sent for it
    assert home.query("SELECT status FROM ledger.deposit_matches WHERE amount = 3000") == [("booked",)]

    # the same day again sends nothing
    assert settle(home, "2025-06-04").success
    assert len(writes(freee)) == before + 2

    # the deposit disappears from the statement: the payment and the fee deal are taken back
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), "ATM ﾆｭｳｷﾝ", 3000)])
    result = settle(home, "2025-06-04")
    assert result.success, failure_text(result)
    assert [(m, p) for m, p, _ in writes(freee)[before + 2:]] == [
        ("DELETE", f"/api/1/deals/{sales['id']}/payments/{payment_id}"), ("DELETE", f"/api/1/deals/{fee_deal['id']}")]
    (sales,) = [d for d in freee.live_deals() if d["id"] == sales["id"]]
    assert sales["due_amount"] == 5380
    assert not [d for d in freee.live_deals() if d["issue_date"] == "2025-06-04"]
    assert freee.problems == []


def test_a_sale_day_not_at_freee_stops_the_day_before_anything_is_sent(home, freee):  # noqa: F811
    freee.walletables[("bank_account", BANK)] = freee._id()
    home.configure(freee_config(freee, targets=["yayoi_csv"]) | {  # the USEN day goes to Yayoi only
        "settlement": {"start_date": "2025-06-01", "targets": ["freee"], "freee": {"walletable": BANK},
                       "rules": [card_rule()]}})
    usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
    assert home.materialize("usen_reji", "2025-06-02").success
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 4380)])
    result = settle(home, "2025-06-04")
    assert not result.success
    assert ("settles usen_reji:0001:2025-06-02:sales (2025-06-02), which is not a deal at freee "
            "(post that day to freee first); nothing was sent") in failure_text(result)
    assert writes(freee) == []
    # claimed, not sent: the next run sends it once the day is at freee
    assert home.query("SELECT count(*) FROM ledger.postings WHERE target = 'freee_payments'") == [(1,)]
    assert home.query("SELECT count(*) FROM ledger.posting_results WHERE target = 'freee_payments'") == [(0,)]
