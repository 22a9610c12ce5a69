"""Settlement rules: validated with the configuration, and the payment date each cycle gives a sale day."""

from __future__ import annotations

import datetime as dt

import pytest

from acctsync_pipelines.lib.config import ConfigError, load_settings
from acctsync_pipelines.lib.settlement import matching
from acctsync_pipelines.lib.settlement.settings import payer_key
from acctsync_pipelines.lib.warehouse import Warehouse

D = dt.date


@pytest.mark.parametrize("sale_day, cycle, expected", [
    # month-end close, paid on the 15th of the next month
    (D(2025, 1, 1), ("monthly", None, 31, 15, 1), D(2025, 2, 15)),
    (D(2025, 1, 31), ("monthly", None, 31, 15, 1), D(2025, 2, 15)),
    # close on the 15th, paid at the end of the next month (February has 28 days)
    (D(2025, 1, 15), ("monthly", None, 15, 31, 1), D(2025, 2, 28)),
    (D(2025, 1, 16), ("monthly", None, 15, 31, 1), D(2025, 3, 31)),
    # close at month end, paid at the end of the same month
    (D(2025, 4, 30), ("monthly", None, 31, 31, 0), D(2025, 4, 30)),
    # across the year
    (D(2025, 12, 20), ("monthly", None, 31, 10, 1), D(2026, 1, 10)),
    (D(2025, 12, 30), ("days_after", 3, None, None, None), D(2026, 1, 2)),
])
def test_payment_date_of_a_sale_day(tmp_path, sale_day, cycle, expected):
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        assert matching.SOURCE == "settlement"
        (due,) = conn.execute("SELECT ops.settlement_due_date(?, ?, ?, ?, ?, ?)", [sale_day, *cycle]).fetchone()
    assert due == expected


def rule(name: str, **extra) -> dict:
    return {"name": name, "sub_accounts": ["【POS Reg】クレジット"], "payer": ["ｶ)ｶｰﾄﾞ"], "cycle": {"days_after": 3}} | extra


def test_rules_are_checked_with_the_configuration(home):
    home.configure({"settlement": {"rules": [rule("a"), rule("b")]}})
    with pytest.raises(ConfigError, match="rules 'a' and 'b' both settle 【POS Reg】クレジット"):
        load_settings()
    # one payer per store is fine
    home.configure({"settlement": {"rules": [rule("a", stores=["0001"]), rule("b", stores=["0002"])]}})
    assert [r.stores for r in load_settings().settlement.rules] == [["0001"], ["0002"]]
    home.configure({"settlement": {"rules": [rule("a", cycle={"days_after": 3, "monthly": {"pay_day": 15}})]}})
    with pytest.raises(ConfigError, match="settlement.rules.0.cycle: Value error, give exactly one of monthly"):
        load_settings()
    home.configure({"settlement": {"rules": [rule("a", fee_rat=0.03)]}})
    with pytest.raises(ConfigError, match="settlement.rules.0.fee_rat: unknown key"):
        load_settings()


def test_payer_texts_match_in_either_width_and_case():
    assert payer_key("ﾌﾘｺﾐ ｶ)ｼﾞｪｲｼｰﾋﾞｰ") == payer_key("フリコミ　カ)ジェイシービー") == "フリコミカ)ジェイシービー"
    assert payer_key("ｽｸｴｱ ｼﾞﾔﾊﾟﾝ") == payer_key("スクエア ジヤパン")
    assert payer_key("Square Japan") == payer_key("ＳＱＵＡＲＥ　ＪＡＰＡＮ") == "SQUAREJAPAN"
