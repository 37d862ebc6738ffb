-- flow: create a whole flow (a parent job, its children, theirs...) in one step: every record, each leaf's
-- Dramatiq message, and each parent's pending-children set, so no crash leaves part of a flow behind.
-- ARGV[1] key prefix (records {prefix}:job:{id}, {prefix}:job:{id}:children and :pending, the set
--       {prefix}:queues and the per-minute counters {prefix}:stats:{queue}:{minute} are built from it)
-- ARGV[2] JSON list of nodes, root first; each {id, queue, kind, rid, payload, state, eta, priority, data,
--       options, max_attempts, org, parent, fpf, ido, mq, children}: state is waiting|prioritized|delayed for
--       a leaf; a node with children waits in waiting-children with its message kept in the record; mq is
--       {ns}:{q}, the Dramatiq name its lists and hashes ({ns}:{q}.msgs, .PQ, .PQ.seq, .DQ, .DQ.msgs) start with.
-- Returns {code, job_id}: 1 created; 0 the root exists already (nothing written); -1 job_id exists or was
-- removed (nothing written).
local nodes = cjson.decode(ARGV[2])
local now = now_ms()

if redis.call('EXISTS', job_key(nodes[1].id)) == 1 then return {0, nodes[1].id} end
for _, n in ipairs(nodes) do
  if redis.call('EXISTS', job_key(n.id)) == 1 or redis.call('EXISTS', tomb_key(n.id)) == 1 then
    return {-1, n.id}
  end
end

for _, n in ipairs(nodes) do
  local job = job_key(n.id)
  redis.call('HSET', job, 'id', n.id, 'queue', n.queue, 'kind', n.kind, 'data', n.data, 'options', n.options,
    'max_attempts', n.max_attempts, 'priority', n.priority, 'org', n.org, 'created_at', now, 'attempts', 0,
    'progress', 0, 'gen', '0', 'rid', n.rid, 'enqueued_at', now, 'mq', n.mq, 'parent', n.parent,
    'fpf', n.fpf, 'ido', n.ido)
  redis.call('SADD', registry_key('queues'), n.queue)
  local stats = stats_key(n.queue, math.floor(now / 60000))
  if redis.call('HINCRBY', stats, 'arrived', 1) == 1 then redis.call('EXPIRE', stats, 172800) end
  if #n.children > 0 then
    redis.call('SADD', flow_key(n.id, 'children'), unpack(n.children))
    redis.call('SADD', flow_key(n.id, 'pending'), unpack(n.children))
    redis.call('HSET', job, 'flow_payload', n.payload)
    set_state(job, n.id, 'waiting-children', now)
  elseif n.state == 'delayed' then
    redis.call('HSET', job, 'run_at', n.eta)
    redis.call('HSET', n.mq .. '.DQ.msgs', n.rid, n.payload)
    redis.call('RPUSH', n.mq .. '.DQ', n.rid)
    set_state(job, n.id, 'delayed', tonumber(n.eta))
    wake(n.mq .. '.DQ')
  elseif n.state == 'prioritized' then
    local score = tonumber(n.priority) * 4294967296 + (redis.call('INCR', n.mq .. '.PQ.seq') % 4294967296)
    redis.call('HSET', n.mq .. '.msgs', n.rid, n.payload)
    redis.call('ZADD', n.mq .. '.PQ', score, n.rid)
    set_state(job, n.id, 'prioritized', score)
    wake(n.mq)
  else
    redis.call('HSET', n.mq .. '.msgs', n.rid, n.payload)
    redis.call('RPUSH', n.mq, n.rid)
    set_state(job, n.id, 'waiting', now)
    wake(n.mq)
  end
end
return {1, nodes[1].id}
