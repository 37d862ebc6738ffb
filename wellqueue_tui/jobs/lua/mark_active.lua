-- mark_active: a job still running after the lazy threshold is shown as active (never downgrades a terminal state).
-- KEYS[1] job hash {prefix}:job:{id}
-- ARGV[1] key prefix
-- ARGV[2..4]: job_id, worker, running_for_ms
-- Returns 1 when marked.
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'completed' or state == 'failed' or state == 'active' then return 0 end
local now = now_ms()
set_state(KEYS[1], ARGV[2], 'active', now)
redis.call('HSET', KEYS[1], 'started_at', now - tonumber(ARGV[4]), 'worker', ARGV[3])
return 1
