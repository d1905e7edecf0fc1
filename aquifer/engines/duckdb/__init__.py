"""Embedded point-in-time joins with DuckDB's ``ASOF JOIN``: one machine, same answer as Spark."""

from aquifer.engines.duckdb.pit import duckdb_pit_join

__all__ = ["duckdb_pit_join"]
