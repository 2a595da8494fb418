-- wrk script for the lookup benchmark (tests/bench/score_latency.sh with
-- LOOKUP_SECONDS): GET /v1/customers/shop-N/c-I for random customers of the
-- score_latency driver's key space (c-0 .. c-<LOOKUP_CUSTOMERS-1>, shop-(I%3+1)),
-- and the latency percentiles wrk's own summary leaves out (p99.9) at the end.
local customers = tonumber(os.getenv("LOOKUP_CUSTOMERS") or "50000")
-- LOOKUP_PAUSE_MS: each connection waits this long before each request (wrk's
-- delay(), whole milliseconds), so C connections ask at most C * 1000 / pause
-- per second: a fixed load instead of as many as the machine answers.
local pause = tonumber(os.getenv("LOOKUP_PAUSE_MS") or "0")
-- LOOKUP_RATE: requests per second of this wrk thread in all (use -t1), on a
-- schedule: each request takes the next slot (1/rate apart) and waits for it
-- (wrk's delay() has whole milliseconds, so requests leave in bursts of at
-- most one millisecond's share). Enough connections must be open for the
-- rate (rate x latency); a thread more than 1 s behind skips ahead.
local rate = tonumber(os.getenv("LOOKUP_RATE") or "0")
local counter = 0
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } recur_timespec;
int clock_gettime(int clock, recur_timespec *tp);
]]
local ts = ffi.new("recur_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local next_due = nil

function setup(thread)
  thread:set("seed", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(1234 + seed)
end

if rate > 0 then
  function delay()
    local now = now_ms()
    if next_due == nil or next_due < now - 1000 then next_due = now end
    next_due = next_due + 1000 / rate
    local wait = next_due - now
    if wait < 1 then return 0 end
    return math.floor(wait)
  end
elseif pause > 0 then
  function delay()
    return pause
  end
end

function request()
  local c = math.random(0, customers - 1)
  return wrk.format("GET", "/v1/customers/shop-" .. (c % 3 + 1) .. "/c-" .. c)
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format("lookups: %d in %.1f s = %.0f/s; non-2xx %d; errors connect %d read %d timeout %d\n",
    summary.requests, s, summary.requests / s, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.timeout))
  io.write(string.format("lookup latency ms: p50 %.3f p99 %.3f p99.9 %.3f max %.3f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
