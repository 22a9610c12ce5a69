"""Settings for sources.amazon_business (defaults in defaults.yaml beside this file)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from acctsync_pipelines.lib.settings_base import AccountRef, SourceSettings, Strict, TaxCategory

Confidence = Annotated[float, Field(ge=0.0, le=1.0)]
REGISTRATION_NUMBER = re.compile(r"^T\d{13}$")


class PaymentInstrument(Strict):
    """A class of ``paymentInstrumentType``: the first class with a pattern inside the text decides."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    patterns: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    exclude: bool = False           # excluded purchases go to staging.amazon_business_skipped
    account: str = ""
    sub_account: str = ""

    @model_validator(mode="after")
    def _account_unless_excluded(self) -> PaymentInstrument:
        if not self.exclude and not self.account:
            raise ValueError(f"payment instrument {self.name!r} needs an account (or exclude: true)")
        return self


MATCHERS = ("title_keyword", "asin", "unspsc", "seller", "gl_code")


class ExpenseRule(Strict):
    """A user's rule: exactly one matcher, and the account it books to."""

    title_keyword: str | None = None   # case-insensitive, anywhere in the title
    asin: str | None = None
    unspsc: str | None = None          # prefix: 2 digits = segment, 4 = family, 6 = class, 8 = commodity
    seller: str | None = None          # the seller's legal name, case-insensitive
    gl_code: str | None = None         # the GL code entered at checkout (businessOrderInfo)
    account: Annotated[str, Field(min_length=1)]
    sub_account: str = ""
    tax_category: TaxCategory | None = None   # empty: by the line's tax rate
    confidence: Confidence = 1.0

    @model_validator(mode="after")
    def _one_matcher(self) -> ExpenseRule:
        given = [m for m in MATCHERS if getattr(self, m) not in (None, "")]
        if len(given) != 1:
            raise ValueError(f"a rule needs exactly one of {', '.join(MATCHERS)}; got {', '.join(given) or 'none'}")
        if self.unspsc is not None and not re.fullmatch(r"\d{2}(\d{2}){0,3}", self.unspsc):
            raise ValueError(f"unspsc {self.unspsc!r} must be 2, 4, 6 or 8 digits (segment, family, class, commodity)")
        return self

    @property
    def matcher(self) -> tuple[str, str]:
        kind = next(m for m in MATCHERS if getattr(self, m) not in (None, ""))
        return kind, str(getattr(self, kind))


class DefaultRule(Strict):
    """Step 3 of inference: a low-confidence default by UNSPSC prefix or product category."""

    unspsc: str | None = None
    category: str | None = None        # case-insensitive, anywhere in the product category
    account: Annotated[str, Field(min_length=1)]
    sub_account: str = ""

    @model_validator(mode="after")
    def _one_matcher(self) -> DefaultRule:
        if (self.unspsc is None) == (self.category is None):
            raise ValueError("a default rule needs exactly one of unspsc, category")
        if self.unspsc is not None and not re.fullmatch(r"\d{2}(\d{2}){0,3}", self.unspsc):
            raise ValueError(f"unspsc {self.unspsc!r} must be 2, 4, 6 or 8 digits")
        return self


class LearnedConfidence(Strict):
    asin: Confidence = 0.95
    title_keyword: Confidence = 0.85


class ApiSettings(Strict):
    """The Reconciliation API. Credentials come only from the environment (see client.py)."""

    base_url: Annotated[str, Field(pattern=r"^https?://")]
    token_url: Annotated[str, Field(pattern=r"^https?://")]
    rate_per_second: Annotated[float, Field(gt=0)] = 2.0
    burst: Annotated[int, Field(ge=1)] = 10
    max_retries: Annotated[int, Field(ge=0, le=20)] = 6
    backoff_seconds: Annotated[float, Field(ge=0)] = 1.0
    max_backoff_seconds: Annotated[float, Field(ge=0)] = 60.0
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # A day's fetch reads feedDate from the start of the day before (to see split payments that
    # straddle midnight) until this many days after the day's start (to catch late transactions).
    feed_window_days: Annotated[int, Field(ge=1, le=60)] = 7
    fetch_invoices: bool = True


class CsvColumns(Strict):
    """acctsync's name → the header in the Orders report. Optional columns may be absent from the file."""

    order_date: str
    order_id: str
    order_status: str
    payment_date: str
    payment_amount: str
    payment_instrument_type: str
    title: str
    item_net_total: str
    item_tax: str
    # optional: used when the header is in the file
    payment_reference_id: str = ""
    charge_identifier: str = ""
    currency: str = ""
    asin: str = ""
    unspsc: str = ""
    category: str = ""
    item_quantity: str = ""
    gl_code: str = ""
    seller_name: str = ""
    tax_rate: str = ""


REQUIRED_CSV_COLUMNS = (
    "order_date", "order_id", "order_status", "payment_date", "payment_amount", "payment_instrument_type",
    "title", "item_net_total", "item_tax",
)


class AmazonBusinessSettings(SourceSettings):
    inputs: Annotated[list[Literal["files", "api"]], Field(min_length=1)] = ["files"]
    api: ApiSettings
    csv_columns: CsvColumns
    # Orders-report statuses that mean delivered (compared case-insensitively); other orders are skipped.
    delivered_order_statuses: list[str]
    gl_code_labels: list[str]
    payment_instruments: Annotated[list[PaymentInstrument], Field(min_length=1)]
    unknown_instrument: AccountRef
    # Seller legal name → 適格請求書発行事業者 registration number (T + 13 digits), for input without invoices.
    seller_registration_numbers: dict[str, str] = {}
    rules: list[ExpenseRule] = []
    learned_confidence: LearnedConfidence = LearnedConfidence()
    default_rules: list[DefaultRule] = []
    default_account: AccountRef
    default_confidence: Confidence = 0.3
    review_threshold: Confidence = 0.8

    @field_validator("seller_registration_numbers")
    @classmethod
    def _registration_numbers(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in value.items() if not REGISTRATION_NUMBER.fullmatch(str(v))}
        if bad:
            raise ValueError(f"registration numbers must be T followed by 13 digits: {bad}")
        return value

    @model_validator(mode="after")
    def _unique_instrument_names(self) -> AmazonBusinessSettings:
        names = [i.name for i in self.payment_instruments]
        duplicates = sorted({n for n in names if names.count(n) > 1} | ({"unknown"} & set(names)))
        if duplicates:
            raise ValueError(f"payment instrument names must be unique and not 'unknown': {', '.join(duplicates)}")
        return self
