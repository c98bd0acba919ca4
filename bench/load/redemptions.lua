-- POST /api/v1/redemptions/ of LOAD_REWARD (default voucher-5) with a distinct idempotency key
-- every request, round the prepared members (prepare.py gives them the points). Reads
-- LOAD_DIR/api_key and LOAD_DIR/members; LOAD_RUN names the run (a new name for every run);
-- LOAD_PREFIX ("/floor" for the bare floor view) goes before the path.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  local dir = os.getenv("LOAD_DIR")
  run = os.getenv("LOAD_RUN") or tostring(os.time())
  reward = os.getenv("LOAD_REWARD") or "voucher-5"
  members = {}
  for line in io.lines(dir .. "/members") do
    if #line > 0 then members[#members + 1] = line end
  end
  local key = io.open(dir .. "/api_key"):read("*l")
  headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
  path = (os.getenv("LOAD_PREFIX") or "") .. "/api/v1/redemptions/"
  sent = 0
end

function request()
  sent = sent + 1
  local member = members[(sent + tid * 97) % #members + 1]
  local body = string.format('{"member": "%s", "reward": "%s", "idempotency_key": "load-%s-%d-%d"}',
    member, reward, run, tid, sent)
  return wrk.format("POST", path, headers, body)
end
