-- PUT /practice/attempts/<ATTEMPT_ID>/responses/<pos> as a logged-in candidate,
-- the payload the delivery page sends: {seq, device, selected, flagged}.
-- Environment: ATTEMPT_ID, DEVICE (from open_attempt), COOKIE ("session=…"),
-- CSRF (the session's token), USER_AGENT (the one the login used), POSITIONS (80),
-- SEQ_BASE (above every seq stored so far). Run with -t1: one Lua state, so one
-- counter gives every request a higher seq than any earlier one, as the browser's
-- single per-attempt counter does, and consecutive requests go to different positions.
dofile((os.getenv("PEER_DIR") or ".") .. "/report.lua")
local attempt = os.getenv("ATTEMPT_ID")
local device = os.getenv("DEVICE")
local positions = tonumber(os.getenv("POSITIONS") or "80")
local seq = tonumber(os.getenv("SEQ_BASE") or "1")
local letters = {"A", "B", "C", "D"}
local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json",
  ["X-CSRFToken"] = os.getenv("CSRF"),
  ["Cookie"] = os.getenv("COOKIE"),
  ["User-Agent"] = os.getenv("USER_AGENT"),
}
request = function()
  seq = seq + 1
  local body = string.format('{"seq": %d, "device": "%s", "selected": ["%s"], "flagged": false}',
                             seq, device, letters[seq % 4 + 1])
  return wrk.format("PUT", "/practice/attempts/" .. attempt .. "/responses/" .. (seq % positions + 1),
                    headers, body)
end

-- Which answers were not 200 (a refused save is an error here): the first few, with
-- their bodies, printed after the RESULT line as "STATUS <code> <body>".
local threads = {}
setup = function(thread) table.insert(threads, thread) end
refused = ""
local refused_count = 0
response = function(status, headers, body)
  if status ~= 200 and refused_count < 5 then
    refused_count = refused_count + 1
    refused = refused .. "STATUS " .. status .. " " .. string.sub(body or "", 1, 200) .. "\n"
  end
end
local report_done = done
done = function(summary, latency, requests)
  report_done(summary, latency, requests)
  for _, thread in ipairs(threads) do io.write(thread:get("refused") or "") end
end
