-- common prelude, prepended to every registry script by jobs/scripts.py (not a script of its own).
-- ARGV[1] of every registry script is the deployment's key prefix (KeySchema.prefix, e.g. wq); a script's own
-- arguments start at ARGV[2]. registry_key is the one place Lua builds registry key names, the way
-- jobs/keys.py does: {prefix}:job:{id} (hash), {prefix}:job:{id}:log (list), {prefix}:tomb:{id} (string),
-- {prefix}:q:{queue}:{state} (zset), {prefix}:org:{org}:q:{queue}:{state} (zset, tenant index),
-- {prefix}:stats:{queue}:{minute} (hash).
local PREFIX = ARGV[1]

local function registry_key(...)
  return PREFIX .. ':' .. table.concat({...}, ':')
end

local function job_key(job_id) return registry_key('job', job_id) end
local function tomb_key(job_id) return registry_key('tomb', job_id) end
local function stats_key(queue, minute) return registry_key('stats', queue, minute) end

local function state_key(queue, org, state)
  if org then return registry_key('org', org, 'q', queue, state) end
  return registry_key('q', queue, state)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Move a job to new_state (nil: out of every state set) and keep the tenant index in step.
local function set_state(job, job_id, new_state, score)
  local f = redis.call('HMGET', job, 'queue', 'org', 'state')
  local queue, org, old = f[1], f[2], f[3]
  if org == '' then org = false end
  if old then
    redis.call('ZREM', state_key(queue, nil, old), job_id)
    if org then redis.call('ZREM', state_key(queue, org, old), job_id) end
  end
  if new_state then
    redis.call('ZADD', state_key(queue, nil, new_state), score, job_id)
    if org then redis.call('ZADD', state_key(queue, org, new_state), score, job_id) end
    redis.call('HSET', job, 'state', new_state)
  end
end

-- Delete a job record entirely (state sets, hash, log) and leave a tombstone so stray copies are dropped.
local function delete_job(job_id)
  local job = job_key(job_id)
  set_state(job, job_id, nil, 0)
  redis.call('DEL', job, job .. ':log')
  redis.call('SET', tomb_key(job_id), '1', 'EX', 691200)
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
    local job = job_key(id)
    if xq then
      local rid = redis.call('HGET', job, 'rid')
      if rid then
        redis.call('ZREM', xq, rid)
        redis.call('HDEL', xq_msgs, rid)
      end
    end
    set_state(job, id, nil, 0)
    redis.call('DEL', job, job .. ':log')
  end
  return victims
end
