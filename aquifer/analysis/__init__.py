"""Whole-graph analysis of a feature repo: dependencies, column lineage, fingerprints and validation.

``analyze(load_repo(path))`` never raises on user mistakes; every problem is reported at once, each with
the definition's name and ``file:line``. Importing this package loads sqlglot, never Spark or Redis.
"""

from aquifer.analysis.analyzer import analyze
from aquifer.analysis.fingerprint import normalize_python, normalize_sql
from aquifer.analysis.problems import Problem
from aquifer.analysis.result import Analysis, ColumnEdge, Fingerprint, Lineage, NodeRef
from aquifer.analysis.source_schema import arrow_to_feature_type, source_columns
from aquifer.analysis.sql import SqlAnalysis, SqlError, analyze_sql, render_sql, sql_upstreams

__all__ = [
    "Analysis",
    "ColumnEdge",
    "Fingerprint",
    "Lineage",
    "NodeRef",
    "Problem",
    "SqlAnalysis",
    "SqlError",
    "analyze",
    "analyze_sql",
    "arrow_to_feature_type",
    "normalize_python",
    "normalize_sql",
    "render_sql",
    "source_columns",
    "sql_upstreams",
]
