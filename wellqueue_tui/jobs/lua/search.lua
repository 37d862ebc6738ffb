-- search: one budgeted step of a search over one state set: look at up to `budget` ids from rank `offset`
-- and return those whose records pass every test (the rules of jobs/search_query.py `matches`).
-- KEYS[1] state zset {prefix}:q:{queue}:{state} or {prefix}:org:{org}:q:{queue}:{state}
-- ARGV[1] key prefix (job records {prefix}:job:{id} are read by id)
-- ARGV[2..4]: offset (rank), budget (ids to look at), descending ('1' newest first)
-- ARGV[5..10]: error needle, well, org, kind needle, created before ms, created after ms ('' = no test)
-- ARGV[11]: free-text words as a JSON array (each must appear in the id or the payload; '[]' = none)
-- Returns {looked_at, id, id, ...}: fewer than `budget` looked at means the set ended.
local offset, budget, descending = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local err, well, org, kind = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local before, after = tonumber(ARGV[9]), tonumber(ARGV[10])
local words = cjson.decode(ARGV[11])
local ids
if descending then
  ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + budget - 1)
else
  ids = redis.call('ZRANGE', KEYS[1], offset, offset + budget - 1)
end
local found = {#ids}
local function has(haystack, needle) return string.find(string.lower(haystack), needle, 1, true) ~= nil end
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', job_key(id), 'error', 'kind', 'org', 'created_at', 'data')
  local ok = f[2] ~= false
  if ok and err ~= '' then ok = f[1] ~= false and has(f[1], err) end
  if ok and org ~= '' then ok = f[3] == org end
  if ok and kind ~= '' then ok = has(f[2], kind) end
  if ok and (before or after) then
    local created = tonumber(f[4] or '')
    ok = created ~= nil and (not before or created < before) and (not after or created > after)
  end
  if ok and well ~= '' then
    local decoded, data = pcall(cjson.decode, f[5] or '')
    ok = decoded and type(data) == 'table' and data.wellId ~= nil and tostring(data.wellId) == well
  end
  if ok and #words > 0 then
    local text = string.lower(id .. ' ' .. (f[5] or ''))
    for _, word in ipairs(words) do
      if not string.find(text, word, 1, true) then ok = false break end
    end
  end
  if ok then found[#found + 1] = id end
end
return found
