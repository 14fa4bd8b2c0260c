-- GET /practice/attempts/<ATTEMPT_ID><SUFFIX>: the delivery page (SUFFIX empty) or the
-- paper's questions (SUFFIX "/paper", where the portal has that URL), logged in.
-- Environment: ATTEMPT_ID, COOKIE ("session=…"), USER_AGENT (the one the login used).
dofile((os.getenv("PEER_DIR") or ".") .. "/report.lua")
local path = "/practice/attempts/" .. os.getenv("ATTEMPT_ID") .. (os.getenv("SUFFIX") or "")
local headers = {["Cookie"] = os.getenv("COOKIE"), ["User-Agent"] = os.getenv("USER_AGENT")}
request = function()
  return wrk.format("GET", path, headers)
end
