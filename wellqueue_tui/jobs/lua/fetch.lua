-- fetch: take up to n ready messages for one consumer, prioritized ones first, and record them as unacked.
-- Idempotent per fetch token: when a reply is lost (a killed connection) and redis-py re-sends the call,
-- the same batch is returned again instead of a second batch while the first sits unknown in the acks set.
-- KEYS[1] zset {ns}:{q}.PQ   KEYS[2] list {ns}:{q}   KEYS[3] hash {ns}:{q}.msgs   KEYS[4] set {ns}:__acks__.{broker}.{q}
-- KEYS[5] string {ns}:__fetch__.{token} (the batch of this call, kept 10 s: redis-py re-sends at once)
-- ARGV[1] key prefix (unused here)
-- ARGV[2] n
-- Returns a flat list {rid1, payload1, rid2, payload2, ...}; a payload may be false (removed meanwhile).
local n = tonumber(ARGV[2])
local rids = {}
local replayed = redis.call('GET', KEYS[5])
if replayed then
  rids = cjson.decode(replayed)
else
  if n > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[1], n)
    for i = 1, #popped, 2 do rids[#rids + 1] = popped[i] end
  end
  while #rids < n do
    local rid = redis.call('LPOP', KEYS[2])
    if not rid then break end
    rids[#rids + 1] = rid
  end
  if #rids == 0 then return {} end
  redis.call('SADD', KEYS[4], unpack(rids))
  redis.call('SET', KEYS[5], cjson.encode(rids), 'EX', 10)
end
if #rids == 0 then return {} end
local payloads = redis.call('HMGET', KEYS[3], unpack(rids))
local out = {}
for i = 1, #rids do
  out[#out + 1] = rids[i]
  out[#out + 1] = payloads[i]
end
return out
