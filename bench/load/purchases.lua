-- POST /api/v1/purchases/ with a distinct external_id every request, round the prepared
-- members. Reads LOAD_DIR/api_key and LOAD_DIR/members; LOAD_RUN names the run (a new name for
-- every run, or the external ids repeat); LOAD_PREFIX ("/floor" for the bare floor view of
-- make bench-api) goes before the path.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  local dir = os.getenv("LOAD_DIR")
  run = os.getenv("LOAD_RUN") or tostring(os.time())
  path = (os.getenv("LOAD_PREFIX") or "") .. "/api/v1/purchases/"
  members = {}
  for line in io.lines(dir .. "/members") do
    if #line > 0 then members[#members + 1] = line end
  end
  local key = io.open(dir .. "/api_key"):read("*l")
  headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
  purchased_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  sent = 0
end

function request()
  sent = sent + 1
  local member = members[(sent + tid * 97) % #members + 1]
  local body = string.format(
    '{"member": "%s", "external_id": "load-%s-%d-%d", "amount": "%d.%02d", "currency": "USD", "purchased_at": "%s"}',
    member, run, tid, sent, 5 + sent % 60, sent % 100, purchased_at)
  return wrk.format("POST", path, headers, body)
end
