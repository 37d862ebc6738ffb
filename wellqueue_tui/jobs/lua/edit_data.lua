-- edit_data: replace a job's payload before it is retried, keeping the payload it replaces in the job's
-- history (a JSON list on the record, newest last, at most 20 entries: {at, by, data}).
-- KEYS[1] job hash {prefix}:job:{id}
-- ARGV[1] key prefix
-- ARGV[2..5]: expected state, org scope ('' = any), new data JSON, who edited it
-- Returns 1 done, 0 not in the expected state (any more), -2 not found / out of scope.
local f = redis.call('HMGET', KEYS[1], 'state', 'org', 'data', 'history')
local state, org, data, history = f[1], f[2], f[3], f[4]
if not state then return -2 end
if ARGV[3] ~= '' and org ~= ARGV[3] then return -2 end
if state ~= ARGV[2] then return 0 end
local entries = {}
if history then
  local ok, decoded = pcall(cjson.decode, history)
  if ok and type(decoded) == 'table' then entries = decoded end
end
while #entries >= 20 do table.remove(entries, 1) end
entries[#entries + 1] = {at = now_ms(), by = ARGV[5], data = data or ''}
redis.call('HSET', KEYS[1], 'data', ARGV[4], 'history', cjson.encode(entries))
return 1
