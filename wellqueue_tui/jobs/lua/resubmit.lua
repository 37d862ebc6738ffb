-- resubmit: put a failed job (retry) or a delayed job (promote) back on its ready queue as a fresh message.
-- The generation counter makes any older copy (a dead letter, a delayed copy a worker holds) stale.
-- KEYS[1] job hash {prefix}:job:{id}   KEYS[2] ready list {ns}:{q}   KEYS[3] zset {ns}:{q}.PQ   KEYS[4] hash {ns}:{q}.msgs
-- KEYS[5] dead letters {ns}:{q}.XQ   KEYS[6] hash {ns}:{q}.XQ.msgs   KEYS[7] hash {ns}:{q}.DQ.msgs   KEYS[8] {ns}:{q}.PQ.seq
-- KEYS[9] wake-up marker zset {ns}:{q}.wake
-- ARGV[1] key prefix
-- ARGV[2..7]: job_id, expected_state (failed|delayed), expected_gen, new_rid, new_payload, org scope ('' = any)
-- Returns 1 done, 0 not in the expected state any more (someone else acted), -2 not found / out of scope.
local job = KEYS[1]
local job_id, expected, expected_gen, new_rid, new_payload, scope = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local f = redis.call('HMGET', job, 'state', 'gen', 'rid', 'priority', 'org')
local state, gen, old_rid, priority, org = f[1], f[2], f[3], f[4], f[5]
if not state then return -2 end
if scope ~= '' and org ~= scope then return -2 end
if state ~= expected or (gen or '') ~= expected_gen then return 0 end
local now = now_ms()
if old_rid then
  redis.call('ZREM', KEYS[5], old_rid)
  redis.call('HDEL', KEYS[6], old_rid)
  redis.call('HDEL', KEYS[7], old_rid)
end
redis.call('HSET', job, 'gen', (tonumber(gen) or 0) + 1, 'rid', new_rid, 'enqueued_at', now, 'run_at', '')
if expected == 'failed' then
  redis.call('HSET', job, 'attempts', 0, 'finished_at', '', 'progress', 0)
end
redis.call('HSET', KEYS[4], new_rid, new_payload)
if priority and priority ~= '' then
  local score = tonumber(priority) * 4294967296 + (redis.call('INCR', KEYS[8]) % 4294967296)
  redis.call('ZADD', KEYS[3], score, new_rid)
  set_state(job, job_id, 'prioritized', score)
else
  redis.call('RPUSH', KEYS[2], new_rid)
  set_state(job, job_id, 'waiting', now)
end
redis.call('ZADD', KEYS[9], 'NX', 0, '0')
return 1
