-- common prelude, prepended to every registry script by jobs/scripts.py (not a script of its own).
-- ARGV[1] of every registry script is the deployment's key prefix (KeySchema.prefix, e.g. wq); a script's own
-- arguments start at ARGV[2]. registry_key is the one place Lua builds registry key names, the way
-- jobs/keys.py does: {prefix}:job:{id} (hash), {prefix}:job:{id}:log (list), {prefix}:tomb:{id} (string),
-- {prefix}:q:{queue}:{state} (zset), {prefix}:org:{org}:q:{queue}:{state} (zset, tenant index),
-- {prefix}:stats:{queue}:{minute} (hash); flows add {prefix}:job:{id}:children, :pending (sets), :results and
-- :ignored (hashes) beside a parent's record; failure groups (below): {prefix}:failures (zset group -> count),
-- {prefix}:failure:{group} (hash), {prefix}:failure:{group}:jobs (zset), {prefix}:failure:{group}:hours (hash),
-- {prefix}:failure:{group}:values:{field} (zset).
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

-- Wake an idle consumer of a ready list ({ns}:{q}, for its priority zset too) or a delay list ({ns}:{q}.DQ): its
-- marker is the list's name + '.wake' (QueueKeys.wake / delayed_wake), a one-member zset the consumer BZPOPMINs.
local function wake(list) redis.call('ZADD', list .. '.wake', 'NX', 0, '0') end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Failure groups: every job failed for good is filed under its error signature (group id, signature and the
-- payload fields operators filter on come from the worker: jobs/signature.py). A job leaves its group whenever
-- it leaves `failed` (retried, removed, trimmed), in set_state. Per group: hash {prefix}:failure:{group}
-- (signature, count, first_seen, last_seen, error, q:{queue} counts, f:{field} markers), its member ids
-- (zset, score = failed at), failures per hour (hash, newest 48 hours) and the most frequent values of each field
-- (zset, newest FAILURE_VALUES_KEPT values kept); {prefix}:failures ranks groups by count.
local FAILURE_VALUES_KEPT = 50
local FAILURE_HOURS_KEPT = 48

local function failure_key(group, ...) return registry_key('failure', group, ...) end

local function leave_failure_group(job, job_id)
  local f = redis.call('HMGET', job, 'fgroup', 'fgroup_fields', 'queue')
  local group_id, fields_json, queue = f[1], f[2], f[3]
  if not group_id or group_id == '' then return end
  redis.call('HDEL', job, 'fgroup', 'fgroup_fields')
  if redis.call('ZREM', failure_key(group_id, 'jobs'), job_id) == 0 then return end
  local group = failure_key(group_id)
  local left = redis.call('HINCRBY', group, 'count', -1)
  if left <= 0 then
    for _, field in ipairs(redis.call('HKEYS', group)) do
      if string.sub(field, 1, 2) == 'f:' then redis.call('DEL', failure_key(group_id, 'values', string.sub(field, 3))) end
    end
    redis.call('DEL', group, failure_key(group_id, 'jobs'), failure_key(group_id, 'hours'))
    redis.call('ZREM', registry_key('failures'), group_id)
    return
  end
  redis.call('ZADD', registry_key('failures'), left, group_id)
  if queue and redis.call('HINCRBY', group, 'q:' .. queue, -1) <= 0 then redis.call('HDEL', group, 'q:' .. queue) end
  local ok, fields = pcall(cjson.decode, fields_json or '')
  if not ok or type(fields) ~= 'table' then return end
  for name, value in pairs(fields) do
    local values = failure_key(group_id, 'values', name)
    if type(value) == 'string' and redis.call('ZSCORE', values, value) then
      if tonumber(redis.call('ZINCRBY', values, -1, value)) <= 0 then redis.call('ZREM', values, value) end
    end
  end
end

local function join_failure_group(job, job_id, queue, now, group_id, signature, fields_json, err)
  if not group_id or group_id == '' then return end
  leave_failure_group(job, job_id)
  local group = failure_key(group_id)
  if redis.call('ZADD', failure_key(group_id, 'jobs'), now, job_id) == 0 then return end
  local count = redis.call('HINCRBY', group, 'count', 1)
  if count == 1 then redis.call('HSET', group, 'signature', signature, 'first_seen', now) end
  redis.call('HSET', group, 'last_seen', now, 'error', string.sub(err or '', 1, 500))
  redis.call('HINCRBY', group, 'q:' .. queue, 1)
  redis.call('ZADD', registry_key('failures'), count, group_id)
  local hours = failure_key(group_id, 'hours')
  local hour = math.floor(now / 3600000)
  if redis.call('HINCRBY', hours, hour, 1) == 1 then
    for _, old in ipairs(redis.call('HKEYS', hours)) do
      if tonumber(old) <= hour - FAILURE_HOURS_KEPT then redis.call('HDEL', hours, old) end
    end
  end
  local ok, fields = pcall(cjson.decode, fields_json or '')
  if ok and type(fields) == 'table' then
    for name, value in pairs(fields) do
      if type(name) == 'string' and type(value) == 'string' then
        local values = failure_key(group_id, 'values', name)
        redis.call('ZINCRBY', values, 1, value)
        redis.call('HSET', group, 'f:' .. name, 1)
        local excess = redis.call('ZCARD', values) - FAILURE_VALUES_KEPT
        if excess > 0 then redis.call('ZREMRANGEBYRANK', values, 0, excess - 1) end
      end
    end
  end
  redis.call('HSET', job, 'fgroup', group_id, 'fgroup_fields', fields_json or '')
end

-- Move a job to new_state (nil: out of every state set) and keep the tenant index in step.
local function set_state(job, job_id, new_state, score)
  local f = redis.call('HMGET', job, 'queue', 'org', 'state')
  local queue, org, old = f[1], f[2], f[3]
  if org == '' then org = false end
  if old == 'failed' and new_state ~= 'failed' then leave_failure_group(job, job_id) end
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
  redis.call('DEL', job, job .. ':log', job .. ':children', job .. ':pending', job .. ':results', job .. ':ignored')
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
    redis.call('DEL', job, job .. ':log', job .. ':children', job .. ':pending', job .. ':results', job .. ':ignored')
  end
  return victims
end

-- == flows (jobs/flows.py, flow.lua) ========================================================================
-- A flow node's record holds `parent` (its parent's id, '' for none), `fpf` / `ido` ('1' for BullMQ's
-- failParentOnFailure / ignoreDependencyOnFailure) and `mq` ({ns}:{q}: where its Dramatiq messages live).
-- A parent waits in `waiting-children` with its message in `flow_payload` until its pending set empties;
-- the script that ends its last child queues it, so no crash can leave it waiting for nothing.
local function flow_key(job_id, what) return registry_key('job', job_id, what) end

-- Queue a parent whose children have all settled: its kept message goes to its ready list or priority zset.
local function flow_release(parent_id, now)
  local parent = job_key(parent_id)
  local f = redis.call('HMGET', parent, 'state', 'mq', 'flow_payload', 'rid', 'priority')
  if f[1] ~= 'waiting-children' or not f[3] then return end
  local mq, rid, priority = f[2], f[4], f[5]
  redis.call('HSET', mq .. '.msgs', rid, f[3])
  redis.call('HDEL', parent, 'flow_payload')
  redis.call('HSET', parent, 'enqueued_at', now)
  if priority and priority ~= '' then
    local score = tonumber(priority) * 4294967296 + (redis.call('INCR', mq .. '.PQ.seq') % 4294967296)
    redis.call('ZADD', mq .. '.PQ', score, rid)
    set_state(parent, parent_id, 'prioritized', score)
  else
    redis.call('RPUSH', mq, rid)
    set_state(parent, parent_id, 'waiting', now)
  end
  wake(mq)
end

local flow_child_ended

-- A child with failParentOnFailure failed for good: its waiting parent fails, naming the child (and so on up).
local function flow_fail_parent(parent_id, child_id, err, now)
  local parent = job_key(parent_id)
  local f = redis.call('HMGET', parent, 'state', 'queue')
  if f[1] ~= 'waiting-children' then return end
  local reason = 'child ' .. child_id .. ' failed: ' .. string.sub(err or '', 1, 400)
  redis.call('HSET', parent, 'error', reason, 'finished_at', now)
  redis.call('HDEL', parent, 'flow_payload')
  set_state(parent, parent_id, 'failed', now)
  local stats = stats_key(f[2], math.floor(now / 60000))
  if redis.call('HINCRBY', stats, 'failed', 1) == 1 then redis.call('EXPIRE', stats, 172800) end
  flow_child_ended(parent, parent_id, 'failed', reason, now)
end

-- A job ended for good (outcome completed|failed|removed; value = result JSON or error): when it is a flow
-- child, settle it in its parent exactly once and queue the parent when it was the last one pending.
-- A failed child without either option keeps its parent waiting (BullMQ's default), until it is retried.
flow_child_ended = function(job, job_id, outcome, value, now)
  local f = redis.call('HMGET', job, 'parent', 'fpf', 'ido')
  local parent_id = f[1]
  if not parent_id or parent_id == '' then return end
  if outcome == 'failed' and f[2] ~= '1' and f[3] ~= '1' then return end
  if redis.call('SREM', flow_key(parent_id, 'pending'), job_id) == 0 then return end
  if outcome == 'completed' then
    redis.call('HSET', flow_key(parent_id, 'results'), job_id, value)
  elseif outcome == 'failed' and f[3] == '1' then
    redis.call('HSET', flow_key(parent_id, 'ignored'), job_id, value)
  elseif outcome == 'failed' then
    flow_fail_parent(parent_id, job_id, value, now)
    return
  end
  if redis.call('SCARD', flow_key(parent_id, 'pending')) == 0 then flow_release(parent_id, now) end
end

-- Removing a parent removes the children it still waits for, recursively; a running child is detached.
-- SMEMBERS is bounded: jobs/flows.py refuses a flow of more than MAX_FLOW_JOBS jobs.
local function flow_remove_pending(job_id)
  for _, child_id in ipairs(redis.call('SMEMBERS', flow_key(job_id, 'pending'))) do
    local child = job_key(child_id)
    local c = redis.call('HMGET', child, 'state', 'rid', 'mq')
    if c[1] == 'active' then
      redis.call('HSET', child, 'parent', '')
    elseif c[1] then
      flow_remove_pending(child_id)
      if c[2] and c[3] then
        redis.call('HDEL', c[3] .. '.msgs', c[2])
        redis.call('HDEL', c[3] .. '.DQ.msgs', c[2])
        redis.call('ZREM', c[3] .. '.XQ', c[2])
        redis.call('HDEL', c[3] .. '.XQ.msgs', c[2])
      end
      delete_job(child_id)
    end
  end
end
