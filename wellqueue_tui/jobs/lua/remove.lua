-- remove: delete a job that is not running, with its queued payload and dead letter, leaving a tombstone.
-- KEYS[1] job hash {prefix}:job:{id}   KEYS[2] hash {ns}:{q}.msgs   KEYS[3] hash {ns}:{q}.DQ.msgs
-- KEYS[4] dead letters {ns}:{q}.XQ   KEYS[5] hash {ns}:{q}.XQ.msgs
-- ARGV[1] key prefix (the tombstone {prefix}:tomb:{id} is built from it)
-- ARGV[2..4]: job_id, org scope ('' = any), allowed states (comma separated, '' = any but active)
-- Returns 1 removed, 0 refused (active or not in an allowed state), -2 not found / out of scope.
local job_id, scope, allowed = ARGV[2], ARGV[3], ARGV[4]
local f = redis.call('HMGET', KEYS[1], 'state', 'rid', 'org')
local state, rid, org = f[1], f[2], f[3]
if not state then return -2 end
if scope ~= '' and org ~= scope then return -2 end
if state == 'active' then return 0 end
if allowed ~= '' and not string.find(',' .. allowed .. ',', ',' .. state .. ',', 1, true) then return 0 end
if rid then
  redis.call('HDEL', KEYS[2], rid)
  redis.call('HDEL', KEYS[3], rid)
  redis.call('ZREM', KEYS[4], rid)
  redis.call('HDEL', KEYS[5], rid)
end
-- flows: a removed child no longer holds its parent back; a removed parent takes its pending children along
flow_child_ended(KEYS[1], job_id, 'removed', '', now_ms())
flow_remove_pending(job_id)
delete_job(job_id)
return 1
