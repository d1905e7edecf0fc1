"""Stores: the offline store (Parquet history) and the online store (Redis latest values)."""
