-- reconcile: give back what a ready-queue consumer's acks set holds but its worker process does not (not delivered to a
-- thread, not in its prefetch): after a failover the new master may miss the finish of a delivery, leaving it
-- "in flight" in a live worker for ever. Run by the consumer after every (re)connect and periodically.
-- KEYS[1] acks set {ns}:__acks__.{broker}.{q}   KEYS[2] payload hash {ns}:{q}.msgs   KEYS[3] list {ns}:{q}
-- KEYS[4] zset {ns}:{q}.PQ
-- ARGV[1] key prefix (job hashes {prefix}:job:{id} and tombstones {prefix}:tomb:{id} are built from it)
-- ARGV[2..]: held rid...
-- The registry decides: a removed job (tombstone), a finished one or a stale copy (the record names another
-- message) is dropped; anything else is queued again and its record marked stalled (redeliveries + 1).
-- Returns {requeued, dropped}.
local held = {}
for i = 2, #ARGV do held[ARGV[i]] = true end
local now = now_ms()
local requeued, dropped = 0, 0
for _, rid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not held[rid] then
    redis.call('SREM', KEYS[1], rid)
    local payload = redis.call('HGET', KEYS[2], rid)
    local job_id = nil
    if payload then
      local ok, message = pcall(cjson.decode, payload)
      job_id = ok and type(message) == 'table' and message['message_id'] or nil
    end
    local job = job_id and job_key(job_id) or nil
    local f = job and redis.call('HMGET', job, 'state', 'rid', 'priority') or {}
    local state, current, priority = f[1], f[2], f[3]
    local drop = not payload
      or (job_id and redis.call('EXISTS', tomb_key(job_id)) == 1)
      or state == 'completed' or state == 'failed'
      or (current and current ~= rid)
    if drop then
      if payload then redis.call('HDEL', KEYS[2], rid) end
      dropped = dropped + 1
    else
      if priority and priority ~= '' then
        redis.call('ZADD', KEYS[4], tonumber(priority) * 4294967296, rid)
      else
        redis.call('RPUSH', KEYS[3], rid)
      end
      if state then
        if state == 'active' or state == 'waiting' or state == 'prioritized' then
          if priority and priority ~= '' then
            set_state(job, job_id, 'prioritized', tonumber(priority) * 4294967296)
          else
            set_state(job, job_id, 'waiting', now)
          end
        end
        redis.call('HINCRBY', job, 'redeliveries', 1)
        redis.call('HSET', job, 'stalled_at', now)
      end
      requeued = requeued + 1
    end
  end
end
if requeued > 0 then wake(KEYS[3]) end
return {requeued, dropped}
