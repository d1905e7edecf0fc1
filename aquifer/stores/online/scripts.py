"""The newer-wins write script.

``KEYS[1]`` is one entity hash; ``ARGV`` is ``field1, blob1, field2, blob2, ...`` (one field per view).
A field is written only when the new blob's ``(event_ts, created_ts)`` is greater than the stored one's,
so writers (batch materialization, stream workers) commute: whatever order their writes arrive in, the
newest value stays. An equal pair keeps the stored value (re-materializing the same data writes nothing).

Times are compared as (signed high 32 bits, unsigned low 32 bits) halves read with ``struct.unpack``:
exact for every int64, and independent of the server locale (Lua's ``<`` on strings uses strcoll).

One key per call on purpose: Redis Cluster refuses multi-key scripts across slots, so callers pipeline
one ``EVALSHA`` per entity key, one round trip per batch. ``NEWER_WINS_COLUMN`` (below) is the
single-node variant materialization uses: the same rule for many keys per call.
"""

from __future__ import annotations

import hashlib

NEWER_WINS = """
local written = 0
for i = 1, #ARGV, 2 do
  local new = ARGV[i + 1]
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local write = (not old) or string.len(old) < 16
  if not write then
    local oh, ol, och, ocl = struct.unpack('>i4I4i4I4', old)
    local nh, nl, nch, ncl = struct.unpack('>i4I4i4I4', new)
    if nh ~= oh then write = nh > oh
    elseif nl ~= ol then write = nl > ol
    elseif nch ~= och then write = nch > och
    else write = ncl > ocl end
  end
  if write then
    redis.call('HSET', KEYS[1], ARGV[i], new)
    written = written + 1
  end
end
return written
"""

NEWER_WINS_SHA = hashlib.sha1(NEWER_WINS.encode()).hexdigest()

# Many keys, one field each, per call: ``KEYS`` are entity hashes, ``ARGV[1]`` the field (view),
# ``ARGV[1 + k]`` the blob for ``KEYS[k]``; same newer-wins rule per key. Amortizes the script call
# (~half of Redis's time per key with ``NEWER_WINS``) over a batch of keys. Multi-key, so only for a
# single Redis node (``RedisOnlineStore.keys_per_call``): a Redis Cluster refuses keys of different slots.
NEWER_WINS_COLUMN = """
local field = ARGV[1]
local written = 0
for k = 1, #KEYS do
  local new = ARGV[k + 1]
  local old = redis.call('HGET', KEYS[k], field)
  local write = (not old) or string.len(old) < 16
  if not write then
    local oh, ol, och, ocl = struct.unpack('>i4I4i4I4', old)
    local nh, nl, nch, ncl = struct.unpack('>i4I4i4I4', new)
    if nh ~= oh then write = nh > oh
    elseif nl ~= ol then write = nl > ol
    elseif nch ~= och then write = nch > och
    else write = ncl > ocl end
  end
  if write then
    redis.call('HSET', KEYS[k], field, new)
    written = written + 1
  end
end
return written
"""

NEWER_WINS_COLUMN_SHA = hashlib.sha1(NEWER_WINS_COLUMN.encode()).hexdigest()
