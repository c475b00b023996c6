-- wrk script: goal check-ins (POST, If-Match) spread over one plan per connection.
-- Arguments: the cookie, the CSRF token, then one "plan:goal:version" per plan.
-- Each wrk thread takes its share of the plans; a plan is used by one request at a
-- time and its version is read back from the response's ETag, so no write conflicts.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local free, by_goal = {}, {}
function init(args)
  local nthreads = tonumber(args[3])
  wrk.headers["Cookie"] = args[1]
  wrk.headers["X-CSRF-Token"] = args[2]
  wrk.headers["Content-Type"] = "application/json"
  wrk.method = "POST"
  for i = 4, #args do
    if (i - 4) % nthreads == id then
      local p, g, v = args[i]:match("([^:]+):([^:]+):(%d+)")
      local e = {plan = p, goal = g, version = tonumber(v)}
      by_goal[g] = e
      free[#free + 1] = e
    end
  end
end

local n = 0
function request()
  local e = table.remove(free)
  if e == nil then
    -- wrk checks request() once in its main state, which never ran init(): any valid request.
    return wrk.format("GET", "/health/live")
  end
  n = n + 1
  local body = string.format('{"rating": %d, "note": "bench"}', n % 11)
  local headers = {["If-Match"] = '"' .. e.version .. '"'}
  for k, v in pairs(wrk.headers) do headers[k] = v end  -- wrk.format uses its headers or these, not both
  return wrk.format("POST", "/api/plans/" .. e.plan .. "/goals/" .. e.goal .. "/check-ins", headers, body)
end

function response(status, headers, body)
  local g = body:match('"goal_id":"([^"]+)"')
  local e = g and by_goal[g]
  if e == nil then
    -- A failed write carries no goal id: say why and stop (the bench refuses the run).
    io.stderr:write("check-in failed: " .. status .. " " .. body .. "\n")
    os.exit(1)
  end
  local v = headers["etag"] or headers["ETag"]
  if v then e.version = tonumber(v:match("(%d+)")) end
  free[#free + 1] = e
end
