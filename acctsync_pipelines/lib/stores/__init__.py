"""STORES retail API v202211 (orders and remittances)."""
