"""Payment features: SQL, Python and windowed aggregations over the same transactions."""

from datetime import timedelta

from features.entities import merchant, user
from features.sources import merchants, transaction_events, transactions

from aquifer import (
    Aggregation,
    AggregationView,
    FeatureService,
    FeatureView,
    Field,
    InRange,
    InSet,
    Quality,
    Session,
    Sliding,
    Tumbling,
    feature_view,
    sql,
)
from aquifer.types import Bool, Float64, Int64, String

user_spend = FeatureView(
    "user_spend", entities=[user], source=transactions,
    transform=sql("""
        SELECT user_id, event_ts, amount, amount > 1000 AS is_large, merchant_id, country
        FROM {transactions}
    """),
    schema=[Field("amount", Float64, default=0.0, expect=[InRange(min=0)]), Field("is_large", Bool, default=False),
            Field("merchant_id", Int64), Field("country", String, default="unknown",
                                               expect=[InSet(["US", "GB", "DE", "BR"], mostly=0.99)])],
    quality=Quality(policy="warn"),  # write, record and alert; "quarantine" sets bad rows aside, "block" stops
    ttl=timedelta(days=30), freshness=timedelta(hours=2),
    description="Per-transaction spend facts", owner="risk@acme.example", tags={"domain": "payments"},
)

merchant_risk = FeatureView(
    "merchant_risk", entities=[merchant], source=merchants,
    schema=[Field("category", String, default="other"), Field("risk_score", Float64, default=0.5)],
    ttl=timedelta(days=7), description="Latest merchant risk snapshot", tags={"domain": "merchants"},
)


@feature_view(entities=[user], schema=[Field("amount_log", Float64, default=0.0),
                                       Field("is_foreign", Bool, default=False)],
              ttl=timedelta(days=30), tags={"domain": "payments"})
def user_spend_shape(user_spend):
    """Log-scaled amount and whether the card was used abroad."""
    from pyspark.sql import functions as F

    return user_spend.select(
        "user_id", "event_ts",
        F.log1p("amount").alias("amount_log"),
        (F.col("country") != "US").alias("is_foreign"),
    )


user_txn_windows = AggregationView(
    "user_txn_windows", entities=[user], source=transaction_events,
    aggregations=[
        Aggregation("amount", "count", Tumbling("1h")),
        Aggregation("amount", "sum", Sliding("1h", every="15m")),
        Aggregation("amount", "avg", Session(gap="30m")),
        Aggregation("amount", "p95", Tumbling("1d")),
    ],
    allowed_lateness=timedelta(minutes=10), freshness=timedelta(minutes=30), ttl=timedelta(days=2),
    description="Recent spending velocity per user", owner="risk@acme.example", tags={"domain": "payments"},
)

fraud_model_v1 = FeatureService(
    "fraud_model_v1",
    features=[user_spend[["amount", "is_large"]], user_spend_shape, user_txn_windows,
              merchant_risk[["risk_score"]]],
    description="Features of the card-fraud model", owner="risk@acme.example",
)
