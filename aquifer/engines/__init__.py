"""Compute engines: Spark (batch, PIT joins, materialization), DuckDB (embedded PIT joins), stream."""
