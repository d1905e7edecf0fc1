"""Where the raw events land (the generator in ../generate_data.py writes them)."""

from aquifer import BatchSource, KafkaSource

transactions = BatchSource(
    "transactions", path="data/transactions.parquet",
    timestamp_field="event_ts", created_timestamp_field="ingested_at",
    description="Card transactions, landed hourly", owner="payments@acme.example",
)
transaction_events = KafkaSource(
    "transaction_events", topic="transactions", timestamp_field="event_ts", format="json",
    batch_source=transactions, description="The same transactions, as they happen",
)
merchants = BatchSource(
    "merchants", path="data/merchants.parquet", timestamp_field="event_ts",
    description="Daily merchant risk snapshots",
)
