-- poison: a fetched message that cannot be decoded is dead-lettered and recorded as a failed job with the reason.
-- KEYS[1] acks set   KEYS[2] hash {ns}:{q}.msgs   KEYS[3] dead letters {ns}:{q}.XQ   KEYS[4] hash {ns}:{q}.XQ.msgs
-- KEYS[5] job hash {prefix}:job:{id} (id poison:{rid})   KEYS[6] set {prefix}:queues
-- ARGV[1] key prefix
-- ARGV[2..5]: rid, queue, reason, raw payload excerpt
-- ARGV[6..8]: failure group of the reason: group id, signature, payload fields JSON
local now = now_ms()
local rid, queue, reason, raw = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('SREM', KEYS[1], rid)
local payload = redis.call('HGET', KEYS[2], rid)
if payload then
  redis.call('ZADD', KEYS[3], now, rid)
  redis.call('HSET', KEYS[4], rid, payload)
  redis.call('HDEL', KEYS[2], rid)
end
local job_id = 'poison:' .. rid
redis.call('HSET', KEYS[5], 'id', job_id, 'queue', queue, 'kind', '(undecodable)', 'data', cjson.encode({raw = raw}),
  'options', '{}', 'max_attempts', 1, 'attempts', 1, 'priority', '', 'org', '', 'created_at', now, 'finished_at', now,
  'error', reason, 'rid', rid, 'progress', 0, 'gen', 0)
set_state(KEYS[5], job_id, 'failed', now)
join_failure_group(KEYS[5], job_id, queue, now, ARGV[6], ARGV[7], ARGV[8], reason)
redis.call('SADD', KEYS[6], queue)
return 1
