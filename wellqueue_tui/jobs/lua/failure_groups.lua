-- failure_groups: read failure groups in one call (read-only), each as one JSON object, so the Failures screen
-- costs one round trip and one small reply per group however many jobs failed. Reads {prefix}:failures (zset)
-- and per group its hash, hour counts and field value zsets (names built by common.lua's failure_key).
-- ARGV[1] key prefix
-- ARGV[2..5]: first rank, last rank (ZREVRANGE of {prefix}:failures), hours of trend, payload field names
--       (comma separated)
-- ARGV[6..]: group ids to read instead of ranks (none: the ranks)
-- Returns a list of JSON objects {id, hour (server hour now), fields (hash), hours (counts oldest first),
-- values {field: [value, score, ...]}}; a group that no longer exists is left out.
local first, last, trend_hours = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local names = {}
for name in string.gmatch(ARGV[5], '[^,]+') do names[#names + 1] = name end
local ids = {}
if #ARGV >= 6 then
  for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZREVRANGE', registry_key('failures'), first, last)
end
local hour = math.floor(tonumber(redis.call('TIME')[1]) / 3600)
local wanted = {}
for h = hour - trend_hours + 1, hour do wanted[#wanted + 1] = h end
local out = {}
for _, id in ipairs(ids) do
  local flat = redis.call('HGETALL', failure_key(id))
  if #flat > 0 then
    local fields = {}
    for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
    local counts = redis.call('HMGET', failure_key(id, 'hours'), unpack(wanted))
    local hours = {}
    for i = 1, #wanted do hours[i] = tonumber(counts[i]) or 0 end
    local values = {}
    for _, name in ipairs(names) do
      values[name] = redis.call('ZREVRANGE', failure_key(id, 'values', name), 0, 2, 'WITHSCORES')
    end
    out[#out + 1] = cjson.encode({id = id, hour = hour, fields = fields, hours = hours, values = values})
  end
end
return out
