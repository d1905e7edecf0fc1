"""The stream layer on Kafka (quixstreams): client settings from ``aquifer.yaml`` (``kafka_config``) and the
workers (``worker.StreamWorker``: ``events`` parses payloads, ``watermarks`` keeps each partition's watermark and
timers, ``sink`` writes online vectors at checkpoints).

Nothing here imports confluent-kafka or quixstreams at import time: ``import aquifer`` stays light.
"""

from aquifer.engines.stream.kafka_config import GROUP_DEFAULTS, kafka_client_config, quix_app_settings

__all__ = ["GROUP_DEFAULTS", "kafka_client_config", "quix_app_settings"]
