"""Amazon Business purchases (Reconciliation API, Orders report)."""
