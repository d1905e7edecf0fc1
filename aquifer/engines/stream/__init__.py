"""The stream layer on Kafka (quixstreams): client settings from ``aquifer.yaml``; workers build on them.

Nothing here imports confluent-kafka or quixstreams at import time: ``import aquifer`` stays light.
"""

from aquifer.engines.stream.kafka_config import GROUP_DEFAULTS, kafka_client_config, quix_app_settings

__all__ = ["GROUP_DEFAULTS", "kafka_client_config", "quix_app_settings"]
