"""Settings for sources.stores (defaults in defaults.yaml beside this file)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from acctsync_pipelines.lib.settings_base import AccountRef, SourceSettings, Strict, TaxCategory

NonEmpty = Annotated[str, Field(min_length=1)]


class BookingRef(Strict):
    """Where one kind of amount is booked: account, sub-account and canonical tax category."""

    account: NonEmpty
    sub_account: str = ""
    tax_category: TaxCategory = "out_of_scope"


class StoresApiSettings(Strict):
    """The STORES retail API (v202211). The token comes from STORES_API_TOKEN or STORES_API_TOKEN_FILE."""

    base_url: NonEmpty = "https://api.stores.dev"
    # A day's fetch reads orders placed this many days back (the API cannot filter on shipped_at).
    lookback_days: Annotated[int, Field(ge=0, le=731)] = 45
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # Attempts per request for 429, 5xx and timeouts (the first try included).
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    backoff_seconds: Annotated[float, Field(ge=0)] = 1.0
    max_wait_seconds: Annotated[float, Field(ge=0)] = 60.0
    # STORES asks for about 60 requests a minute per token.
    min_interval_seconds: Annotated[float, Field(ge=0)] = 1.0


class StoresAccounts(Strict):
    sales: NonEmpty
    payment_fee: BookingRef
    bank: BookingRef
    payout_receivable: BookingRef
    transfer_fee: BookingRef
    speedcash_fee: BookingRef
    chargeback: BookingRef
    taxable_deduction: BookingRef
    non_taxable_deduction: BookingRef
    deduction: BookingRef
    campaign_coupon: BookingRef


class StoresSettings(SourceSettings):
    input: Literal["files", "api"] = "files"
    recognition: Literal["shipped", "ordered"] = "shipped"
    api: StoresApiSettings = StoresApiSettings()
    # sales_channel_id → 部門. "ec" is the online shop; an unlisted STORES レジ store uses its name.
    departments: dict[str, str] = {}
    # transactions[].type → debit account of the sale.
    payment_types: dict[str, AccountRef]
    # custom tenders by payment_method_name; unlisted ones use payment_types.custom with the name as
    # sub-account.
    custom_tenders: dict[str, AccountRef] = {}
    accounts: StoresAccounts
