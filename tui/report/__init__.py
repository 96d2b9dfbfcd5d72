"""Headless outputs over the store and verdicts: ls, check, status, review, export (pure)."""
