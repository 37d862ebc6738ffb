-- Give up the scheduler leader lease, but only if this process still holds it.
-- KEYS[1]  the lease key ({prefix}:scheduler:leader)
-- ARGV[1]  the holder token ("host:pid:uuid")
-- Returns 1 when released, 0 when the lease had already passed to someone else or expired.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
