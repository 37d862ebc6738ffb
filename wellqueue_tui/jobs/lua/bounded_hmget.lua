-- bounded_hmget: HMGET that never replies with more than a byte budget, so a huge field stays in Redis.
-- KEYS[1] hash wq:job:{id}
-- ARGV[1] byte budget for the whole reply; ARGV[2..] field names, in the order they matter most
-- Returns one entry per field: its value, nil when absent, or its length (an integer) when it did not fit.
local budget = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local size = redis.call('HSTRLEN', KEYS[1], ARGV[i])
  if size <= budget then
    out[i - 1] = redis.call('HGET', KEYS[1], ARGV[i])
    budget = budget - size
  else
    out[i - 1] = size
  end
end
return out
