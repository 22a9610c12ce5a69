"""Posting targets. Each renders or sends a claimed batch; the posting log is the source of truth."""
