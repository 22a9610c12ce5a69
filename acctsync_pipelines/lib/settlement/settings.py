"""Settings for ``settlement`` (defaults in defaults.yaml beside this file).

A settlement rule says who pays a receivable sub-account (the payer text in the bank statement),
when (the cycle), and what it keeps (fee rate, tolerance). Rules are business-specific, so the
bundled defaults have none; docs/settlement.md shows a complete example.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from acctsync_pipelines.lib.settings_base import Strict, TargetName, TaxCategory

NonEmpty = Annotated[str, Field(min_length=1)]
# A day of the month, or the month's last day.
DayOfMonth = Literal["end_of_month"] | Annotated[int, Field(ge=1, le=28)]
END_OF_MONTH = 31


def payer_key(text: str) -> str:
    """How payer texts are compared: NFKC (half-width ｶﾅ = full-width カナ), upper case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).upper().split())


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class StatementColumns(Strict):
    """acctsync's name → the header in the bank's CSV export. An empty header: the export has no such column."""

    date: NonEmpty
    description: Annotated[list[NonEmpty], Field(min_length=1)]  # several headers are joined by a space
    deposit: NonEmpty
    withdrawal: str = ""
    balance: str = ""

    _one_header = field_validator("description", mode="before")(_as_list)


class MonthlyCycle(Strict):
    """Sales up to each ``close`` day are paid on ``pay_day`` of the month ``months_after`` later."""

    close: DayOfMonth = "end_of_month"
    pay_day: DayOfMonth
    months_after: Annotated[int, Field(ge=0, le=3)] = 1

    @property
    def close_day(self) -> int:
        return END_OF_MONTH if self.close == "end_of_month" else int(self.close)

    @property
    def pay_day_number(self) -> int:
        return END_OF_MONTH if self.pay_day == "end_of_month" else int(self.pay_day)


class Cycle(Strict):
    """Exactly one of ``monthly`` or ``days_after`` (each sale day is paid that many days later)."""

    monthly: MonthlyCycle | None = None
    days_after: Annotated[int, Field(ge=0, le=62)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Cycle":
        if (self.monthly is None) == (self.days_after is None):
            raise ValueError("give exactly one of monthly: {close, pay_day, months_after} or days_after: <days>")
        return self

    @property
    def kind(self) -> str:
        return "monthly" if self.monthly is not None else "days_after"


class SettlementRule(Strict):
    name: NonEmpty
    # Receivable sub-accounts (on accounts.receivable) this payer settles, e.g. 【POS Reg】クレジット.
    sub_accounts: Annotated[list[NonEmpty], Field(min_length=1)]
    # Text that appears in the bank statement's description when this payer pays, e.g. ｶ)ｼﾞｪｲｼｰﾋﾞｰ.
    payer: Annotated[list[NonEmpty], Field(min_length=1)]
    # Only these stores' receivables (store codes); empty: every store.
    stores: list[str] = []
    # true: each store is paid by its own deposit; false: one deposit pays every store's receivables.
    per_store: bool = False
    cycle: Cycle
    # The fee the payer keeps, as a fraction of the gross (0.0324 = 3.24%), and how far the actual
    # difference may be from it: tolerance_yen + tolerance_rate × gross.
    fee_rate: Annotated[float, Field(ge=0, le=0.2)] = 0.0
    tolerance_yen: Annotated[int, Field(ge=0)] = 0
    tolerance_rate: Annotated[float, Field(ge=0, le=0.2)] = 0.0
    fee_tax_category: TaxCategory = "exempt"   # card merchant fees are 非課税; set purchase_10 if taxed
    # A deposit up to window_days before or after the cycle's payment date is on time (weekends, holidays).
    window_days: Annotated[int, Field(ge=0, le=15)] = 4
    # A receivable is overdue once grace_days have passed after its payment date.
    grace_days: Annotated[int, Field(ge=0, le=120)] = 7
    # true: a deposit that fits no cycle settles the oldest due receivables first (no fee);
    # false: such a deposit waits for review with that proposal.
    partial_payments: bool = False

    _listed_payer = field_validator("payer", "sub_accounts", mode="before")(_as_list)

    @field_validator("stores", mode="before")
    @classmethod
    def _store_codes_are_text(cls, value: Any) -> Any:
        # YAML reads 0001 as the integer 1; store codes are text (quote them: "0001").
        return [str(v) for v in value] if isinstance(value, list) else value

    @field_validator("payer")
    @classmethod
    def _payer_has_text(cls, value: list[str]) -> list[str]:
        if any(not payer_key(p) for p in value):
            raise ValueError("a payer text must contain more than spaces")
        return value


class FreeeSettlement(Strict):
    """freee: the 口座 (walletable) deposits arrive in; settlements are payments from it on the deals."""

    walletable: str = ""   # its name at freee, e.g. 三井住友銀行 普通
    walletable_type: Literal["bank_account", "wallet", "credit_card"] = "bank_account"


class SettlementSettings(Strict):
    enabled: bool = True
    start_date: dt.date
    targets: list[TargetName] = ["yayoi_csv"]
    # Deposits are booked to accounts.bank with this sub-account (e.g. the bank's name).
    bank_sub_account: str = ""
    columns: StatementColumns
    # strptime formats tried in order for the date column; 和暦 (R7.6.15, 令和7年6月15日) is always understood.
    date_formats: Annotated[list[NonEmpty], Field(min_length=1)]
    # How far back a deposit looks for the receivables it pays.
    lookback_days: Annotated[int, Field(ge=7, le=730)] = 120
    # A deposit a source already booked to the bank (a STORES payout, a register's 銀行預入) is
    # recognised within this many days of its booking day, and is not settled again.
    booked_window_days: Annotated[int, Field(ge=0, le=10)] = 3
    rules: list[SettlementRule] = []
    freee: FreeeSettlement = FreeeSettlement()

    @model_validator(mode="after")
    def _rules_do_not_overlap(self) -> "SettlementSettings":
        names = [r.name for r in self.rules]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(duplicated)}")
        for i, first in enumerate(self.rules):
            for second in self.rules[i + 1:]:
                shared = sorted(set(first.sub_accounts) & set(second.sub_accounts))
                disjoint_stores = first.stores and second.stores and not set(first.stores) & set(second.stores)
                if shared and not disjoint_stores:
                    raise ValueError(
                        f"rules {first.name!r} and {second.name!r} both settle {', '.join(shared)}; "
                        "a receivable must have one payer (split them by stores: [...] if each store has its own)"
                    )
        return self
