-- common prelude, prepended to every registry script by jobs/scripts.py (not a script of its own).
-- Registry keys: wq:job:{id} (hash), wq:job:{id}:log (list), wq:q:{queue}:{state} (zset),
-- wq:org:{org}:q:{queue}:{state} (zset, tenant index), wq:stats:{queue}:{minute} (hash).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function state_key(queue, org, state)
  if org then return 'wq:org:' .. org .. ':q:' .. queue .. ':' .. state end
  return 'wq:q:' .. queue .. ':' .. state
end

-- Move a job to new_state (nil: out of every state set) and keep the tenant index in step.
local function set_state(job_key, job_id, new_state, score)
  local f = redis.call('HMGET', job_key, 'queue', 'org', 'state')
  local queue, org, old = f[1], f[2], f[3]
  if org == '' then org = false end
  if old then
    redis.call('ZREM', state_key(queue, nil, old), job_id)
    if org then redis.call('ZREM', state_key(queue, org, old), job_id) end
  end
  if new_state then
    redis.call('ZADD', state_key(queue, nil, new_state), score, job_id)
    if org then redis.call('ZADD', state_key(queue, org, new_state), score, job_id) end
    redis.call('HSET', job_key, 'state', new_state)
  end
end

-- Delete a job record entirely (state sets, hash, log) and leave a tombstone so stray copies are dropped.
local function delete_job(job_id)
  local job_key = 'wq:job:' .. job_id
  set_state(job_key, job_id, nil, 0)
  redis.call('DEL', job_key, job_key .. ':log')
  redis.call('SET', 'wq:tomb:' .. job_id, '1', 'EX', 691200)
end

-- Apply retention to one terminal state set of a queue: keep the newest `keep` and nothing older than `age_ms`.
-- Returns the ids removed (at most 100 per call, as BullMQ does). XQ entries of failed jobs go too.
local function trim_state(queue, state, keep, age_ms, now, xq, xq_msgs)
  local key = state_key(queue, nil, state)
  local victims = {}
  if keep >= 0 then
    local excess = redis.call('ZCARD', key) - keep
    if excess > 0 then victims = redis.call('ZRANGE', key, 0, math.min(excess, 100) - 1) end
  end
  if age_ms > 0 and #victims < 100 then
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', now - age_ms, 'LIMIT', 0, 100 - #victims)
    for _, id in ipairs(old) do victims[#victims + 1] = id end
  end
  for _, id in ipairs(victims) do
    if xq then
      local rid = redis.call('HGET', 'wq:job:' .. id, 'rid')
      if rid then
        redis.call('ZREM', xq, rid)
        redis.call('HDEL', xq_msgs, rid)
      end
    end
    local job_key = 'wq:job:' .. id
    set_state(job_key, id, nil, 0)
    redis.call('DEL', job_key, job_key .. ':log')
  end
  return victims
end
