-- GET /portal/ as the logged-in demo member (LOAD_DIR/session holds the session key);
-- LOAD_PREFIX ("/floor" for the bare floor view of make bench-api) goes before the path.
function init(args)
  local session = io.open(os.getenv("LOAD_DIR") .. "/session"):read("*l")
  wrk.headers["Cookie"] = "sessionid=" .. session
  path = (os.getenv("LOAD_PREFIX") or "") .. "/portal/"
end

function request()
  return wrk.format("GET", path)
end
