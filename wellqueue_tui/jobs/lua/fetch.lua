-- fetch: take up to n ready messages for one consumer, prioritized ones first, and record them as unacked.
-- Idempotent per fetch token: when a reply is lost (a killed connection) and redis-py re-sends the call,
-- the same batch is returned again instead of a second batch while the first sits unknown in the acks set.
-- KEYS[1] zset {ns}:{q}.PQ   KEYS[2] list {ns}:{q}   KEYS[3] hash {ns}:{q}.msgs   KEYS[4] set {ns}:__acks__.{broker}.{q}
-- KEYS[5] string {ns}:__fetch__.{token} (the batch of this call, kept 10 s: redis-py re-sends at once)
-- ARGV[1] key prefix (unused here)
-- ARGV[2] n
-- Queue limits (jobs/limits.py), applied to a queue's ready consumer only:
-- KEYS[6] hash {prefix}:limits:{q} (rate limit and cluster cap, configured or set live)
-- KEYS[7] zset {prefix}:limiter:{q} (the fetches inside the sliding rate-limit window)
-- KEYS[8] zset {prefix}:brokers (worker processes; their acks sets of this queue are its jobs in flight)
-- ARGV[3] '1' to apply the limits (ready queue), '0' not (delay queue)
-- ARGV[4] acks name stem {ns}:__acks__. (a process's acks set of the queue: stem .. broker .. '.' .. queue)
-- ARGV[5] the canonical queue name
-- Returns a flat list {rid1, payload1, rid2, payload2, ...}; a payload may be false (removed meanwhile);
-- or {wait_ms}, one element, when the queue's limits let nothing through now.
local n = tonumber(ARGV[2])
local rids = {}
local replayed = redis.call('GET', KEYS[5])
if replayed then
  rids = cjson.decode(replayed)
else
  -- queue limits: a cluster-wide cap on jobs in flight, then at most `max` fetches in any `duration` ms ----
  local window_now, window_ms = nil, nil
  if ARGV[3] == '1' and n > 0 then
    local lim = redis.call('HMGET', KEYS[6], 'max', 'duration', 'concurrency', 'op_max', 'op_duration',
      'op_concurrency')
    local max, duration = tonumber(lim[1]) or 0, tonumber(lim[2]) or 0
    if lim[4] then max, duration = tonumber(lim[4]) or 0, tonumber(lim[5]) or 0 end
    local cap = tonumber(lim[6] or lim[3]) or 0
    if cap > 0 then
      local in_flight = 0
      for _, broker in ipairs(redis.call('ZRANGE', KEYS[8], 0, -1)) do
        in_flight = in_flight + redis.call('SCARD', ARGV[4] .. broker .. '.' .. ARGV[5])
      end
      if in_flight >= cap then return {100} end  -- a slot frees when a job finishes: look again soon
      n = math.min(n, cap - in_flight)
    end
    if max > 0 and duration > 0 then
      window_now, window_ms = now_ms(), duration
      redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', window_now - duration)
      local used = redis.call('ZCARD', KEYS[7])
      if used >= max then
        local oldest = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
        return {math.max(1, tonumber(oldest[2]) + duration - window_now)}
      end
      n = math.min(n, max - used)
    end
  end
  -- end of queue limits --------------------------------------------------------------------------------
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
  if window_now then  -- queue limits: these fetches fill the rate-limit window
    for _, rid in ipairs(rids) do redis.call('ZADD', KEYS[7], window_now, rid) end
    redis.call('PEXPIRE', KEYS[7], window_ms)
  end
end
if #rids == 0 then return {} end
local payloads = redis.call('HMGET', KEYS[3], unpack(rids))
local out = {}
for i = 1, #rids do
  out[#out + 1] = rids[i]
  out[#out + 1] = payloads[i]
end
return out
