"""Settings for the API targets (targets.freee, targets.quickbooks, targets.zoho_books).

Defaults live in lib/defaults.yaml. Secrets are never here: tokens come from environment variables
or a token file (whose path is here), client secrets from environment variables.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from acctsync_pipelines.lib.settings_base import Strict, TaxCategory


class RetrySettings(Strict):
    """Bounded retries: 429 / rate-limit 403 wait for Retry-After (capped); 5xx and timeouts back off."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    backoff_seconds: Annotated[float, Field(ge=0)] = 1.0
    max_wait_seconds: Annotated[float, Field(ge=0)] = 120.0
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0


class OAuthSettings(Strict):
    """Where the tokens are. The token file (JSON, 0600) wins over the environment once it exists,
    because refresh tokens rotate: each refresh writes the new pair there before it is used."""

    token_url: str
    token_file: str = ""  # empty: $ACCTSYNC_HOME/secrets/<target>_tokens.json
    access_token_env: str
    refresh_token_env: str
    client_id_env: str
    client_secret_env: str


class FreeeSettings(Strict):
    base_url: str = "https://api.freee.co.jp"
    company_id: int = 0
    oauth: OAuthSettings
    retry: RetrySettings = RetrySettings()
    # freee counts calls per company and app per day (3,000 to 10,000 by plan); stop before that.
    daily_call_budget: Annotated[int, Field(ge=1)] = 3000
    # Our account name → the company's account item name, where they differ.
    account_names: dict[str, str] = {}
    # Canonical tax category → freee tax name (taxes/companies `name`), resolved to a code per company.
    tax_names: dict[TaxCategory, str]
    # 10% and reduced 8% codes exist from this day on; earlier days using them are refused.
    rated_codes_from: dt.date = dt.date(2019, 10, 1)
    # The walletable (口座) that settles cash parts of a deal, by name and type.
    cash_walletable: str = "現金"
    cash_walletable_type: Literal["wallet", "bank_account", "credit_card"] = "wallet"
    # 品目 of a line settled in cash (non-cash tenders use the line's sub-account, 【POS Reg】<支払区分>).
    cash_item: str = "【POS Reg】現金"
    create_items: bool = True
    create_sections: bool = False
    # A changed entry: update the deal / journal in place, or delete it and create the new version.
    change_mode: Literal["update", "recreate"] = "update"


class QuickBooksSettings(Strict):
    base_url: str = "https://quickbooks.api.intuit.com"
    realm_id: str = ""
    minor_version: Annotated[int, Field(ge=1)] = 75
    currency: str = "JPY"
    oauth: OAuthSettings
    retry: RetrySettings = RetrySettings()
    daily_call_budget: Annotated[int, Field(ge=1)] = 10000
    # Our account name → the QuickBooks account name, where they differ.
    account_names: dict[str, str] = {}


class ZohoBooksSettings(Strict):
    base_url: str = "https://www.zohoapis.com/books/v3"
    organization_id: str = ""
    oauth: OAuthSettings
    retry: RetrySettings = RetrySettings()
    daily_call_budget: Annotated[int, Field(ge=1)] = 1000
    requests_per_minute: Annotated[int, Field(ge=1)] = 100
    account_names: dict[str, str] = {}
    status: Literal["draft", "published"] = "published"
