"""Offline store: feature history as Parquet, one folder per view, partitioned by event date."""

from aquifer.stores.offline.layout import (
    CREATED_TS,
    DATE_PARTITION,
    EVENT_TS,
    view_path,
)

__all__ = ["CREATED_TS", "DATE_PARTITION", "EVENT_TS", "view_path"]
