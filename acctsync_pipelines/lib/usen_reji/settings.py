"""Settings for sources.usen_reji (defaults in defaults.yaml beside this file)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from acctsync_pipelines.lib.settings_base import AccountRef, SourceSettings, Strict, TaxCategory


class CashMovementRule(Strict):
    direction: Literal["入金", "出金"]
    reason: Annotated[str, Field(min_length=1)]
    account: Annotated[str, Field(min_length=1)]
    sub_account: str = ""
    tax_category: TaxCategory = "out_of_scope"


class CloseColumns(Strict):
    store_code: str
    store_name: str
    business_date: str
    close_seq: str
    closed_at: str
    float_amount: str
    expected_cash: str
    counted_cash: str


class SlipColumns(Strict):
    slip_no: str
    slip_kind: str
    original_slip_no: str
    issued_at: str
    line_no: str
    product_code: str
    product_name: str
    category: str
    tax_rate: str
    unit_price: str
    quantity: str
    discount: str
    amount: str


class PaymentColumns(Strict):
    slip_no: str
    tender: str
    tender_name: str
    amount: str
    tendered: str
    change: str


class CashMovementColumns(Strict):
    movement_no: str
    moved_at: str
    direction: str
    reason: str
    amount: str
    memo: str


class UsenColumns(Strict):
    """acctsync's name → the header in the bundle's CSV, per file."""

    close: CloseColumns
    slips: SlipColumns
    payments: PaymentColumns
    cash_movements: CashMovementColumns


class UsenRejiSettings(SourceSettings):
    granularity: Literal["daily_summary", "per_slip"] = "daily_summary"
    departments: dict[str, str] = {}
    tenders: dict[str, AccountRef]
    cash_movement_rules: list[CashMovementRule] = []
    columns: UsenColumns

    @field_validator("departments", mode="before")
    @classmethod
    def _store_codes_are_text(cls, value: Any) -> Any:
        # YAML reads 0001 as the integer 1; store codes are text (quote them: "0001").
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value
