"""Pydantic building blocks shared by the configuration of every source and target."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TaxCategory = Literal["sales_10", "sales_8r", "purchase_10", "purchase_8r", "exempt", "out_of_scope"]
TargetName = Literal["yayoi_csv", "freee", "quickbooks", "zoho_books"]


class Strict(BaseModel):
    """Unknown keys are errors, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountRef(Strict):
    account: Annotated[str, Field(min_length=1)]
    sub_account: str = ""


class SourceSettings(Strict):
    enabled: bool = True
    start_date: dt.date
    targets: list[TargetName] = ["yayoi_csv"]
