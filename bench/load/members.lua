-- GET /api/v1/members/{member_number}/ round the prepared members. Reads LOAD_DIR/api_key and
-- LOAD_DIR/members; LOAD_PREFIX ("/floor" for the bare floor view) goes before the path.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  local dir = os.getenv("LOAD_DIR")
  members = {}
  for line in io.lines(dir .. "/members") do
    if #line > 0 then members[#members + 1] = line end
  end
  local key = io.open(dir .. "/api_key"):read("*l")
  headers = {["Authorization"] = "Bearer " .. key}
  prefix = (os.getenv("LOAD_PREFIX") or "") .. "/api/v1/members/"
  sent = 0
end

function request()
  sent = sent + 1
  local member = members[(sent + tid * 97) % #members + 1]
  return wrk.format("GET", prefix .. member .. "/", headers)
end
