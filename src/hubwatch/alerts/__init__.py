"""Alerts on saved queries and filters, delivered through apprise (deliver.py)."""
