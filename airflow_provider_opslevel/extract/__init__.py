"""Extraction: render requests, follow cursors, turn responses into records (no Airflow imports)."""
