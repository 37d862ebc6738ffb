-- Renew the scheduler leader lease, but only for the process that still holds it.
-- KEYS[1]  the lease key ({prefix}:scheduler:leader)
-- ARGV[1]  the holder token ("host:pid:uuid")
-- ARGV[2]  the lease time to live, in milliseconds
-- Returns 1 when renewed, 0 when the lease expired or another process holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
