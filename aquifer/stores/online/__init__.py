"""Redis online store: key layout (``keys``), value blobs (``codec``), newer-wins writes and pipelined reads."""

from aquifer.stores.online.codec import ViewCodec, from_micros, to_micros
from aquifer.stores.online.keys import EntityGroup, EntityKeyError, entity_group
from aquifer.stores.online.redis_store import OnlineStoreUnavailable, RedisOnlineStore

__all__ = [
    "EntityGroup",
    "EntityKeyError",
    "OnlineStoreUnavailable",
    "RedisOnlineStore",
    "ViewCodec",
    "entity_group",
    "from_micros",
    "to_micros",
]
