"""USEN Reji close bundles (../shared/spec/usen-reji-close-export.md)."""
