#!/usr/bin/env bash
# Memory after a burst (docs/benchmarks.md, "Memory after a burst"): starts a TokenWire server, samples its resident
# set every second, takes the idle baseline (median of the 10 s before the burst), runs one bench/TokenWire.LoadTest
# invocation against it (--url) as the burst, then keeps sampling AFTER seconds (default 66) and prints the resident
# set at +10/+30/+60 s (and +120/+200 s when watched that long) against the idle baseline.
#
#   bench/memory-after-burst.sh OUT SERVER_DIR PORT [ENV=VALUE ...] -- LOADTEST_ARGS...
#   bench/memory-after-burst.sh /tmp/mem-a /tmp/server 18100 -- --baseline none --format json \
#     --scenarios 1x200x500 --slow 50 --duration 20 --warmup 2 --drain 5
#
# ENV=VALUE pairs go to the server (TokenWire__Memory__TrimWhenIdle=false turns the trimmer off). COUNTERS=1 also
# records dotnet-counters (System.Runtime, Kestrel's memory pool) to OUT/counters.csv. Bounded: the load test gets
# at most 600 s, and the whole run takes about 90 s plus the load test plus AFTER.
set -u
if [ $# -lt 4 ]; then sed -n '2,13p' "$0"; exit 2; fi
out=$1; dir=$2; port=$3; shift 3
server_env=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do server_env+=("$1"); shift; done
shift
here=$(cd "$(dirname "$0")" && pwd)
loadtest=${LOADTEST_DLL:-$here/TokenWire.LoadTest/bin/Release/net10.0/TokenWire.LoadTest.dll}
mkdir -p "$out"

env ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development TokenWire__Limits__MaxInboundRate=0 \
  Logging__LogLevel__Default=Warning Logging__LogLevel__TokenWire.Server.Hosting=Information "${server_env[@]}" \
  dotnet "$dir/TokenWire.Server.dll" --urls "http://127.0.0.1:$port" > "$out/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
start=$(date +%s.%N)
since() { echo "$(date +%s.%N) - $start" | bc; }
(while kill -0 $pid 2>/dev/null; do
  echo "$(since) $(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null) $(cut -d' ' -f1 /proc/loadavg)"
  sleep 1
done) > "$out/rss.txt" &
for _ in $(seq 1 60); do curl -s -o /dev/null "http://127.0.0.1:$port/time" && break; sleep 1; done
if [ -n "${COUNTERS:-}" ]; then
  "${DOTNET_COUNTERS:-dotnet-counters}" collect -p $pid --counters System.Runtime,Microsoft.AspNetCore.MemoryPool --refresh-interval 2 \
    --format csv -o "$out/counters.csv" > /dev/null 2>&1 &
fi

sleep 20
echo "idle_end $(since)" > "$out/marks.txt"
timeout 600 dotnet "$loadtest" --url "http://127.0.0.1:$port" "$@" > "$out/loadtest.txt" 2>&1
echo "burst_end $(since)" >> "$out/marks.txt"
sleep "${AFTER:-66}"
kill $pid; wait $pid 2>/dev/null; sleep 1

python3 - "$out" <<'PY'
import statistics, sys
out = sys.argv[1]
rows = []
for line in open(out + "/rss.txt"):
    parts = line.split()
    if len(parts) >= 3:
        rows.append((float(parts[0]), int(parts[1]) / 1024, float(parts[2])))
marks = {name: float(value) for name, value in (line.split() for line in open(out + "/marks.txt"))}
idle = statistics.median(mb for t, mb, _ in rows if marks["idle_end"] - 10 <= t <= marks["idle_end"])
peak = max(mb for _, mb, _ in rows)
def at(seconds):
    t = marks["burst_end"] + seconds
    nearest = min(rows, key=lambda row: abs(row[0] - t))
    return nearest[1] if abs(nearest[0] - t) < 3 else None
points = [(s, at(s)) for s in (10, 30, 60, 120, 200)]
text = ", ".join(f"+{s} s {mb:.0f} MB ({100 * (mb - idle) / idle:+.0f} %)" for s, mb in points if mb is not None)
loads = [load for _, _, load in rows]
print(f"idle {idle:.0f} MB, peak {peak:.0f} MB, after the burst: {text}; load average {min(loads):.1f}-{max(loads):.1f}")
PY
grep -h "Quiet\|second look" "$out/server.log" | sed 's/^ */  /'
