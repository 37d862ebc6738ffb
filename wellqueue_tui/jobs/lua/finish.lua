-- finish: Dramatiq's ack/nack fused with the job's terminal (or retry) transition, counters and retention.
-- KEYS[1] acks set of this consumer     KEYS[2] payload hash of the consumer queue ({ns}:{q}.msgs)
-- KEYS[3] job hash {prefix}:job:{id}     KEYS[4] dead letters zset {ns}:{q}.XQ   KEYS[5] hash {ns}:{q}.XQ.msgs
-- KEYS[6] delay list {ns}:{q}.DQ         KEYS[7] hash {ns}:{q}.DQ.msgs
-- ARGV[1] key prefix (per-minute counters {prefix}:stats:{queue}:{minute} are built from it: completed,
--       duration_ms_sum, failed (permanently), retried (attempts that failed and will run again))
-- ARGV[2..17]: outcome (completed|retry|failed|requeued|held|ack), rid, job_id, queue, duration_ms, error, traceback,
--       result_json, worker, keep_completed, keep_completed_age_ms, keep_failed, keep_failed_age_ms,
--       retry_rid, retry_payload, retry_eta_ms
-- ARGV[18..20]: failure group of a job failed for good: group id, signature, payload fields JSON ('' = none)
-- Returns 1 when the registry changed, 0 otherwise.
local outcome, rid, job_id, queue = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local duration, err, tb, result, worker = tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local keep_c, keep_c_age, keep_f, keep_f_age = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])
local retry_rid, retry_payload, retry_eta = ARGV[15], ARGV[16], ARGV[17]
local failure_group, failure_signature, failure_fields = ARGV[18], ARGV[19], ARGV[20]
local now = now_ms()

local owned = redis.call('SREM', KEYS[1], rid) == 1
if owned then
  if outcome == 'failed' then
    local payload = redis.call('HGET', KEYS[2], rid)
    if payload then
      redis.call('ZADD', KEYS[4], now, rid)
      redis.call('HSET', KEYS[5], rid, payload)
    end
  end
  redis.call('HDEL', KEYS[2], rid)
end

if outcome == 'ack' or redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
local job = KEYS[3]
local state = redis.call('HGET', job, 'state')

if outcome == 'requeued' then
  -- handed back unstarted (queue paused): it waits again
  if state == 'active' then set_state(job, job_id, 'waiting', now) end
  return 1
end

if outcome == 'held' then
  -- not run (its destination's breaker is open): scheduled again, no attempt spent, no failure counted
  if owned and state ~= 'completed' then
    redis.call('HSET', KEYS[7], retry_rid, retry_payload)
    redis.call('RPUSH', KEYS[6], retry_rid)
    wake(KEYS[6])
    redis.call('HSET', job, 'rid', retry_rid, 'run_at', retry_eta, 'held', err)
    set_state(job, job_id, 'delayed', tonumber(retry_eta))
  end
  return 1
end

local minute = math.floor(now / 60000)
local stats = stats_key(queue, minute)

local function record_error()
  redis.call('HINCRBY', job, 'attempts', 1)
  redis.call('HSET', job, 'error', err, 'traceback', tb, 'worker', worker)
  local history = cjson.decode(redis.call('HGET', job, 'attempt_errors') or '[]')
  history[#history + 1] = {redis.call('HGET', job, 'attempts'), now, string.sub(err, 1, 500)}
  while #history > 10 do table.remove(history, 1) end
  redis.call('HSET', job, 'attempt_errors', cjson.encode(history))
end

if outcome == 'completed' then
  if state == 'completed' then
    redis.call('HINCRBY', job, 'duplicate_runs', 1)
    return 0
  end
  redis.call('HINCRBY', job, 'attempts', 1)
  redis.call('HSET', job, 'finished_at', now, 'started_at', now - duration, 'duration_ms', duration,
    'result', result, 'progress', 100, 'worker', worker)
  set_state(job, job_id, 'completed', now)
  redis.call('HINCRBY', stats, 'completed', 1)
  redis.call('HINCRBY', stats, 'duration_ms_sum', duration)
  redis.call('EXPIRE', stats, 172800)
  flow_child_ended(job, job_id, 'completed', result, now)  -- flows: settle in the parent (common.lua)
  trim_state(queue, 'completed', keep_c, keep_c_age, now, nil, nil)
  return 1
end

if state == 'completed' then return 0 end
record_error()
redis.call('HSET', job, 'started_at', now - duration)

if outcome == 'retry' then
  -- Counted whoever owns the delivery, as the attempt above: failure rates judge every failed attempt.
  if redis.call('HINCRBY', stats, 'retried', 1) == 1 then redis.call('EXPIRE', stats, 172800) end
  -- Only the owner of the delivery schedules the retry; a reaped copy is already queued elsewhere.
  if owned then
    redis.call('HSET', KEYS[7], retry_rid, retry_payload)
    redis.call('RPUSH', KEYS[6], retry_rid)
    wake(KEYS[6])
    redis.call('HSET', job, 'rid', retry_rid, 'run_at', retry_eta)
    set_state(job, job_id, 'delayed', tonumber(retry_eta))
  end
  return 1
end

-- failed permanently: kept for triage (dead letter)
redis.call('HSET', job, 'finished_at', now, 'duration_ms', duration)
set_state(job, job_id, 'failed', now)
-- failure groups (common.lua): filed under its signature, counted per hour and per payload field value
join_failure_group(job, job_id, queue, now, failure_group, failure_signature, failure_fields, err)
redis.call('HINCRBY', stats, 'failed', 1)
redis.call('EXPIRE', stats, 172800)
flow_child_ended(job, job_id, 'failed', err, now)  -- flows: settle in the parent (common.lua)
trim_state(queue, 'failed', keep_f, keep_f_age, now, KEYS[4], KEYS[5])
return 1
