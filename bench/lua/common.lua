-- Shared by the bench/run.sh wrk scripts. Reads BENCH_KEYS (a file of
-- "IDENTITY API_KEY" lines written by run.sh) into `keys`, and seeds the
-- per-thread random generator from BENCH_SEED and the thread id.
keys = {}
local f = assert(io.open(os.getenv("BENCH_KEYS"), "r"))
for line in f:lines() do
  local ident, key = line:match("^(%S+)%s+(%S+)$")
  if ident then keys[ident] = key end
end
f:close()

bench_ids = 0
function setup(thread)
  bench_ids = bench_ids + 1
  thread:set("tid", bench_ids)
end

function bench_seed()
  math.randomseed((tonumber(os.getenv("BENCH_SEED")) or os.time()) * 100 + (tid or 0))
end

function auth(ident)
  return { ["Authorization"] = "Bearer " .. keys[ident] }
end
