-- requeue: return unacked messages to their queue, either handed back by a stopping consumer
-- (mode 'graceful', ids given) or reaped from a dead worker (mode 'dead', the whole acks set).
-- KEYS[1] acks set {ns}:__acks__.{broker}.{q}   KEYS[2] payload hash {ns}:{q}.msgs   KEYS[3] list {ns}:{q}
-- KEYS[4] zset {ns}:{q}.PQ   KEYS[5] dead letters {ns}:{q}.XQ   KEYS[6] hash {ns}:{q}.XQ.msgs
-- KEYS[7] wake-up marker of KEYS[3]: zset {ns}:{q}.wake or {ns}:{q}.DQ.wake
-- ARGV[1] key prefix (job hashes {prefix}:job:{id} of the payloads' message ids are built from it)
-- ARGV[2..4]: mode, redelivery_limit, is_delay_queue (1|0)
-- ARGV[5..]: graceful: rid...; dead: ARGV[5..8] the error of a job failed for repeated deaths ('{n}' stands for
-- the count), its failure group id and signature, JSON {rid: payload fields JSON} of the acks set's jobs.
-- Returns {requeued, failed}.
local mode, limit, is_dq = ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local rids, group_fields = {}, {}
if mode == 'dead' then
  rids = redis.call('SMEMBERS', KEYS[1])
  local ok, decoded = pcall(cjson.decode, ARGV[8] or '')
  if ok and type(decoded) == 'table' then group_fields = decoded end
else
  for i = 5, #ARGV do rids[#rids + 1] = ARGV[i] end
end
local now = now_ms()
local requeued, failed = 0, 0
for _, rid in ipairs(rids) do
  local mine = redis.call('SREM', KEYS[1], rid) == 1
  local payload = mine and redis.call('HGET', KEYS[2], rid)
  if payload then
    local ok, message = pcall(cjson.decode, payload)
    local job_id = ok and type(message) == 'table' and message['message_id'] or nil
    local job = job_id and job_key(job_id) or nil
    local known = job and redis.call('EXISTS', job) == 1
    local redeliveries = 0
    if known and mode == 'dead' and not is_dq then
      redeliveries = redis.call('HINCRBY', job, 'redeliveries', 1)
    end
    if known and redeliveries > limit then
      redis.call('ZADD', KEYS[5], now, rid)
      redis.call('HSET', KEYS[6], rid, payload)
      redis.call('HDEL', KEYS[2], rid)
      local reason = string.gsub(ARGV[5], '{n}', tostring(redeliveries))
      redis.call('HSET', job, 'error', reason, 'finished_at', now)
      set_state(job, job_id, 'failed', now)
      local fields = group_fields[rid]
      join_failure_group(job, job_id, redis.call('HGET', job, 'queue'), now, ARGV[6], ARGV[7],
        type(fields) == 'string' and fields or '', reason)
      flow_child_ended(job, job_id, 'failed', 'worker process died while running this job', now)  -- flows
      failed = failed + 1
    else
      local priority = known and not is_dq and redis.call('HGET', job, 'priority') or ''
      if priority and priority ~= '' then
        redis.call('ZADD', KEYS[4], tonumber(priority) * 4294967296, rid)
      else
        redis.call('RPUSH', KEYS[3], rid)
      end
      if known and not is_dq then
        local state = redis.call('HGET', job, 'state')
        if state == 'active' or state == 'waiting' or state == 'prioritized' then
          if priority and priority ~= '' then
            set_state(job, job_id, 'prioritized', tonumber(priority) * 4294967296)
          else
            set_state(job, job_id, 'waiting', now)
          end
        end
        if mode == 'dead' then redis.call('HSET', job, 'stalled_at', now) end
      end
      requeued = requeued + 1
    end
  end
end
if mode == 'dead' then redis.call('DEL', KEYS[1]) end
if requeued > 0 then redis.call('ZADD', KEYS[7], 'NX', 0, '0') end
return {requeued, failed}
