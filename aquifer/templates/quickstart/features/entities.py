"""The things our features describe."""

from aquifer import Entity
from aquifer.types import Int64

user = Entity("user", join_keys=["user_id"], key_types=[Int64],
              description="A customer account", owner="risk@acme.example")
merchant = Entity("merchant", join_keys=["merchant_id"], key_types=[Int64],
                  description="A card acceptor", owner="merchants@acme.example")
