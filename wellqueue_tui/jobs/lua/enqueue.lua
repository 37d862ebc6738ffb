-- enqueue: store a Dramatiq message and upsert its registry record in one step.
-- KEYS[1] ready structure: list {ns}:{q} / {ns}:{q}.DQ, or zset {ns}:{q}.PQ for prioritized jobs
-- KEYS[2] payload hash: {ns}:{q}.msgs or {ns}:{q}.DQ.msgs
-- KEYS[3] job hash {prefix}:job:{id}    KEYS[4] tombstone {prefix}:tomb:{id}    KEYS[5] set {prefix}:queues
-- KEYS[6] priority sequence counter {ns}:{q}.PQ.seq
-- KEYS[7] wake-up marker of KEYS[1]: zset {ns}:{q}.wake or {ns}:{q}.DQ.wake (an idle consumer BZPOPMINs it)
-- KEYS[8] the other payload hash of the queue ({ns}:{q}.DQ.msgs when KEYS[2] is {ns}:{q}.msgs, and the reverse)
-- ARGV[1] key prefix (a new job counts as `arrived` in the per-minute counters {prefix}:stats:{queue}:{minute})
-- ARGV[2..15]: mode (create|upsert), rid, payload, job_id, queue, kind, state (waiting|prioritized|delayed),
--       eta_ms (delayed), priority ('' = none), data_json, options_json, max_attempts, org ('' = none), gen ('' = none)
-- Returns {code, server_ms}: 1 created, 2 updated, 0 already exists (create mode), -1 dropped (removed or stale copy).
-- All or nothing: every key is type-checked before the first write (Redis does not roll a failed script back), so
-- a wrong-type key fails the enqueue with `WRONGTYPE <key> holds a <type>, expected a <type>` and writes nothing.
local mode, rid, payload, job_id, queue, kind, state = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local eta, priority, data, options, max_attempts, org, gen = ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14], ARGV[15]
local now = now_ms()

-- -- all-or-nothing checks (failover branch) --------------------------------------------------------------
local function expect(key, wanted)
  local actual = redis.call('TYPE', key)['ok']
  if actual ~= 'none' and actual ~= wanted then
    error({err = 'WRONGTYPE ' .. key .. ' holds a ' .. actual .. ', expected a ' .. wanted .. ': fix or delete it'})
  end
end
expect(KEYS[1], state == 'prioritized' and 'zset' or 'list')
expect(KEYS[2], 'hash')
expect(KEYS[3], 'hash')
expect(KEYS[5], 'set')
expect(KEYS[6], 'string')
expect(KEYS[7], 'zset')
expect(KEYS[8], 'hash')
expect(stats_key(queue, math.floor(now / 60000)), 'hash')
local held = redis.call('HMGET', KEYS[3], 'state', 'queue', 'org')
local old_state = held[1]
for _, at in ipairs({{state, queue, org}, {held[1], held[2], held[3]}}) do
  if at[1] and at[2] then
    expect(state_key(at[2], nil, at[1]), 'zset')
    if at[3] and at[3] ~= '' then expect(state_key(at[2], at[3], at[1]), 'zset') end
  end
end

-- A record waiting for a message that neither payload hash holds is the half-state of an enqueue that failed
-- part-way (before these checks): the same-id retry repairs it as a new job instead of reporting success.
local function phantom()
  if held[2] ~= queue then return false end  -- the id is taken in another queue: not ours to repair
  if old_state ~= 'waiting' and old_state ~= 'prioritized' and old_state ~= 'delayed' then return false end
  local rid_held = redis.call('HGET', KEYS[3], 'rid')
  return not rid_held or (redis.call('HEXISTS', KEYS[2], rid_held) == 0 and redis.call('HEXISTS', KEYS[8], rid_held) == 0)
end
-- ------------------------------------------------------------------------------------------------------------

if redis.call('EXISTS', KEYS[4]) == 1 then return {-1, now} end
local exists = redis.call('EXISTS', KEYS[3]) == 1
if exists and phantom() then
  set_state(KEYS[3], job_id, nil, 0)
  redis.call('DEL', KEYS[3])
  exists = false
end
if exists and mode == 'create' then return {0, now} end
if exists then  -- a copy older than the last retry/promote (gen bump) is stale: drop it
  local current = tonumber(redis.call('HGET', KEYS[3], 'gen') or '0') or 0
  if current > (tonumber(gen) or 0) then return {-1, now} end
end

local code = 2
if not exists then
  code = 1
  redis.call('HSET', KEYS[3], 'id', job_id, 'queue', queue, 'kind', kind, 'data', data, 'options', options,
    'max_attempts', max_attempts, 'priority', priority, 'org', org, 'created_at', now, 'attempts', 0,
    'progress', 0, 'gen', (gen ~= '' and gen or '0'))
  redis.call('SADD', KEYS[5], queue)
  -- One command per job: the expiry is set only by the minute's first counter write.
  local stats = stats_key(queue, math.floor(now / 60000))
  if redis.call('HINCRBY', stats, 'arrived', 1) == 1 then redis.call('EXPIRE', stats, 172800) end
end

local score = now
if state == 'delayed' then
  score = tonumber(eta)
  redis.call('HSET', KEYS[3], 'run_at', eta)
elseif state == 'prioritized' then
  local seq = redis.call('INCR', KEYS[6]) % 4294967296
  score = tonumber(priority) * 4294967296 + seq
end
set_state(KEYS[3], job_id, state, score)
redis.call('HSET', KEYS[3], 'rid', rid, 'enqueued_at', now)

redis.call('HSET', KEYS[2], rid, payload)
if state == 'prioritized' then
  redis.call('ZADD', KEYS[1], score, rid)
else
  redis.call('RPUSH', KEYS[1], rid)
end
redis.call('ZADD', KEYS[7], 'NX', 0, '0')
return {code, now}
