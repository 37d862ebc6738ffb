-- heartbeat: a worker process says it is alive, stamped with Redis server time (host clocks may be skewed).
-- KEYS[1] zset {prefix}:brokers
-- ARGV[1] key prefix (unused here)
-- ARGV[2] broker id
-- Returns the server time in ms.
local now = now_ms()
redis.call('ZADD', KEYS[1], now, ARGV[2])
return now
