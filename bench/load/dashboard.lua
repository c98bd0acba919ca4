-- GET /portal/ as the logged-in demo member (LOAD_DIR/session holds the session key).
function init(args)
  local session = io.open(os.getenv("LOAD_DIR") .. "/session"):read("*l")
  wrk.headers["Cookie"] = "sessionid=" .. session
end
