"""Helpers of the web UI's tests: the registry-backed repo they browse, the app, and a small HTML tree.

The repo is applied to a real registry (SQLite in the repo), its ``user_spend`` rows written to the offline
store as Parquet with pandas defaults, materialized with DuckDB into real Redis (a run record, statistics of the
pushed rows with their histograms, the newest-value bookkeeping), validated, and given one drift result. One view's
description, tags, owner and feature description hold HTML and script: the pages must show them as text.
"""

from __future__ import annotations

import socket
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aquifer.sdk.store import FeatureStore
from aquifer.stores.offline.layout import view_path

T0 = datetime(2024, 3, 1, tzinfo=UTC)
USERS = 60
XSS = "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\">"
"""Text that runs script if a page inserts it as HTML."""

DEFS = '''
from datetime import timedelta

from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureService, FeatureView, Field, InRange,
                     InSet, KafkaSource, Quality, Tumbling, feature_view, sql)
from aquifer.types import Bool, Float64, Int64, String, Timestamp

XSS = __XSS__

user = Entity("user", join_keys=["user_id"], key_types=[Int64], description="A customer account",
              owner="risk@acme.example")
merchant = Entity("merchant", join_keys=["merchant_id"], key_types=[Int64])

transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           description="Card transactions, landed hourly", owner="payments@acme.example")
transaction_events = KafkaSource("transaction_events", topic="transactions", timestamp_field="event_ts",
                                 format="json", batch_source=transactions,
                                 schema=[Field("user_id", Int64), Field("amount", Float64),
                                         Field("event_ts", Timestamp)])
merchants = BatchSource("merchants", path="data/merchants.parquet", timestamp_field="event_ts")

user_spend = FeatureView(
    "user_spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount, amount > 1000 AS is_large, country FROM {transactions}"),
    schema=[Field("amount", Float64, default=0.0, expect=[InRange(min=0)], description="Amount in USD"),
            Field("is_large", Bool, default=False, description="Over a thousand"),
            Field("country", String, default="unknown", expect=[InSet(["US", "GB"], mostly=0.5)])],
    quality=Quality(policy="warn"), ttl=timedelta(days=30), freshness=timedelta(hours=2),
    description="Per-transaction spend facts", owner="risk@acme.example", tags={"domain": "payments", "tier": "gold"},
)
merchant_risk = FeatureView(
    "merchant_risk", entities=[merchant], source=merchants,
    schema=[Field("category", String, default="other"), Field("risk_score", Float64, default=0.5,
                                                               description="Chargeback likelihood")],
    ttl=timedelta(days=7), description="Latest merchant risk snapshot", tags={"domain": "merchants"},
)
hostile_view = FeatureView(
    "hostile_view", entities=[merchant], source=merchants,
    schema=[Field("score", Float64, description=XSS)],
    description=XSS, owner=XSS, tags={"note": XSS},
)


@feature_view(entities=[user], schema=[Field("amount_log", Float64, default=0.0)], ttl=timedelta(days=30),
              tags={"domain": "payments"}, owner="ml@acme.example")
def user_spend_shape(user_spend):
    """Log-scaled amount."""
    from pyspark.sql import functions as F

    return user_spend.select("user_id", "event_ts", F.log1p("amount").alias("amount_log"))


user_txn_windows = AggregationView(
    "user_txn_windows", entities=[user], source=transaction_events,
    aggregations=[Aggregation("amount", "count", Tumbling("1h"))], freshness=timedelta(minutes=30),
    ttl=timedelta(days=2), description="Recent spending velocity", owner="risk@acme.example",
    tags={"domain": "payments"},
)

fraud_model_v1 = FeatureService("fraud_model_v1", features=[user_spend[["amount", "is_large"]], user_spend_shape,
                                                            merchant_risk[["risk_score"]]],
                                description="Features of the card-fraud model", owner="risk@acme.example")
'''.replace("__XSS__", repr(XSS))


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_repo(root: Path, redis_url: str, registry: str | None = None, project: str = "ui_test",
               api: str = "") -> Path:
    """The repo under ``root``: ``DEFS``, a SQLite registry in it (or ``registry``), Redis at ``redis_url``, and
    ``api`` as the yaml's ``api:`` value when given."""
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(DEFS))
    (root / "aquifer.yaml").write_text(
        f"project: {project}\n"
        f"registry: '{registry or f'sqlite:///{root}/.aquifer/registry.db'}'\n"
        f"offline_store: {{path: '{root}/.aquifer/offline'}}\n"
        f"online_store: {{url: '{redis_url}', timeout_ms: 200}}\n"
        + (f"api: {api}\n" if api else "")
    )
    return root


def offline_rows() -> pd.DataFrame:
    """Transactions of ``USERS`` users over 20 hours of 2024-03-01 (some amounts negative: InRange fails)."""
    rng = np.random.default_rng(11)
    n = USERS * 4
    event = [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 20 * 60, n)]
    amount = rng.lognormal(4, 1.2, n).round(2) - 20
    return pd.DataFrame({
        "user_id": rng.integers(0, USERS, n), "event_ts": pd.to_datetime(event, utc=True),
        "amount": amount, "is_large": amount > 1000, "country": rng.choice(["US", "GB", "FR"], n),
    })


@dataclass
class Built:
    """The built repo: its store, the offline rows written, and the latest row per user (what was pushed)."""

    store: FeatureStore
    rows: pd.DataFrame

    @property
    def latest(self) -> pd.DataFrame:
        return self.rows.sort_values("event_ts").groupby("user_id").tail(1)


def build(root: Path, redis_url: str, registry: str | None = None, project: str = "ui_test") -> Built:
    """Apply, write user_spend's offline rows, materialize them with DuckDB, validate, record one drift result."""
    store = FeatureStore(write_repo(root, redis_url, registry, project))
    store.apply()
    df = offline_rows()
    folder = view_path(store.config.offline_path, store.config.project, "user_spend") / "event_date=2024-03-01"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(df.assign(created_ts=df["event_ts"]), preserve_index=False),
                   folder / "part-0.parquet", coerce_timestamps="us")
    store.materialize(["user_spend"], end=T0 + timedelta(days=1), engine="duckdb", progress=False)
    store.validate("user_spend")
    store.registry.add_drift_result(store.config.project, "user_spend", "amount", "t-1",
                                    {"psi": 0.31, "psi_threshold": 0.2, "training_count": 500,
                                     "serving_count": 80, "reasons": ["psi 0.31 > 0.2"]}, True)
    return Built(store, df)


def make_app(store: FeatureStore):
    """The feature server's app of ``store`` with the UI mounted, as ``aquifer serve`` builds it."""
    from aquifer.api import create_app
    from aquifer.ui import mount

    return mount(create_app(store, sinks=[], freshness_check_s=0))


# ---- a small HTML tree (the standard library's parser), to read pages as a browser's DOM would ----------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    """An element: tag, attributes, children (elements and text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str]
    parent: Node | None = None

    def raw(self) -> str:
        """The text inside, entities decoded, whitespace as written."""
        return "".join(c if isinstance(c, str) else c.raw() for c in self.children)

    def text(self) -> str:
        """The text inside, as a browser shows it (entities decoded, whitespace runs collapsed)."""
        return " ".join(self.raw().split())

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with ``tag`` whose attributes contain ``attrs`` (``class_`` matches one class)."""
        found = []
        for c in self.children:
            if isinstance(c, str):
                continue
            if (tag is None or c.tag == tag) and all(
                    (v in c.attrs.get("class", "").split()) if k == "class_" else c.attrs.get(k.replace("_", "-")) == v
                    for k, v in attrs.items()):
                found.append(c)
            found += c.all(tag, **attrs)
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        """The only descendant matching; fails otherwise."""
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> found"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, [])
        self.at = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, [], self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.at.children.append(Node(tag, {k: v or "" for k, v in attrs}, [], self.at))

    def handle_endtag(self, tag: str) -> None:
        at = self.at
        while at is not None and at.tag != tag:
            at = at.parent
        if at is not None and at.parent is not None:
            self.at = at.parent

    def handle_data(self, data: str) -> None:
        self.at.children.append(data)


def dom(html: str) -> Node:
    """The document's tree."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
