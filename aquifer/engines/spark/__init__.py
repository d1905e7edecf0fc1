"""Spark engine: session factory, transform compiler, batch runs, point-in-time joins, materialization."""
