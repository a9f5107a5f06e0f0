#!/usr/bin/env bash
# Installs what the tests need, runs every suite, and ends with one line: "N passed, N failed".
# Suites: xunit (dotnet test), interop (node:test + the real ably SDK against a real server process),
# e2e (the demo page in Debian chromium via playwright-core against a real server process).
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
logs="$root/artifacts/test-logs"
mkdir -p "$logs"
passed=0
failed=0

note() { printf '\n=== %s\n' "$*"; }

# Prints a TAP log's top-level results (the last $2 lines), then every failure at any depth with its diagnostics,
# so a failure early in a long suite is never cut off by the tail.
tap_report() {
  grep -E "^(not )?ok |^# (pass|fail)" "$1" | grep -vE "^    " | tail -n "$2"
  if grep -qE "^ *not ok " "$1"; then
    echo "--- failures in $(basename "$1"):"
    awk '/^ *not ok /{show=1; n=0} show{print; n++; if ($0 ~ /^ *\.\.\.$/ || n >= 40) show=0}' "$1" | head -n 400
  fi
}

# --- prerequisites -------------------------------------------------------------------------------------------
# redis-server: the Redis engine's xunit tests and tests/interop/cluster*.test.mjs start their own on free ports.
if ! command -v redis-server >/dev/null 2>&1; then
  note "install redis-server (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) > "$logs/apt-redis.log" 2>&1 \
    || { echo "installing redis-server failed (see $logs/apt-redis.log)"; echo "0 passed, 1 failed"; exit 1; }
fi

note "restore and build (Release)"
if ! dotnet build TokenWire.sln -c Release -warnaserror 2>&1 | tee "$logs/build.log" | tail -n 3; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi
if grep -q "Build FAILED" "$logs/build.log"; then echo "0 passed, 1 failed"; exit 1; fi

note "dotnet format --verify-no-changes"
# Generous bound: format takes 1-2 minutes on an idle box and over 10 on a saturated one.
timeout 1800 dotnet format TokenWire.sln --verify-no-changes > "$logs/format.log" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
  echo "format: clean"; passed=$((passed + 1))
elif [ "$status" -eq 124 ]; then
  echo "format: timed out after 30 minutes"; failed=$((failed + 1))
else
  echo "format: not clean (run 'dotnet format TokenWire.sln'):"; head -n 20 "$logs/format.log"; failed=$((failed + 1))
fi

note "npm ci (tests/interop)"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error) || { echo "0 passed, 1 failed"; exit 1; }

# --- xunit ---------------------------------------------------------------------------------------------------
for project in tests/*.Tests/*.csproj; do
  name=$(basename "$project" .csproj)
  note "xunit: $name"
  dotnet test "$project" -c Release --no-build --logger "console;verbosity=minimal" 2>&1 | tee "$logs/$name.log" | tail -n 5
  summary=$(grep -E "^(Passed|Failed)! +- " "$logs/$name.log" | tail -n 1)
  p=$(sed -nE 's/.*Passed: +([0-9]+).*/\1/p' <<<"$summary")
  f=$(sed -nE 's/.*Failed: +([0-9]+).*/\1/p' <<<"$summary")
  if [ -z "$p" ]; then echo "no test summary from $name"; failed=$((failed + 1)); continue; fi
  passed=$((passed + p)); failed=$((failed + ${f:-0}))
  if [ "${f:-0}" -gt 0 ]; then grep -E -A 25 "^ +Failed " "$logs/$name.log" | head -n 300; fi
done

# --- interop: the real ably SDK against a real server ----------------------------------------------------------
note "interop (node:test, ably@2.28.0)"
# The bound is a safety net for a hung server, not a budget: the files take 7-10 minutes on a busy 2-core box.
(cd tests/interop && timeout 1500 node --test --test-concurrency=1 --test-timeout=180000 --test-reporter=tap *.test.mjs) \
  > "$logs/interop.tap" 2>&1
tap_report "$logs/interop.tap" 60
p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$logs/interop.tap" | tail -n 1)
f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$logs/interop.tap" | tail -n 1)
if [ -z "$p" ]; then echo "interop produced no summary"; failed=$((failed + 1)); else passed=$((passed + p)); failed=$((failed + f)); fi

# --- e2e: the demo page in chromium against a real server ---------------------------------------------------------
note "e2e (node:test, playwright-core, Debian chromium)"
if [ ! -x /usr/bin/chromium ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) > "$logs/apt-chromium.log" 2>&1 \
    || echo "apt-get install chromium failed (see $logs/apt-chromium.log)"
fi
if (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error); then
  (cd tests/e2e && timeout 420 node --test --test-concurrency=1 --test-timeout=240000 --test-reporter=tap *.test.mjs) \
    > "$logs/e2e.tap" 2>&1
  tap_report "$logs/e2e.tap" 20
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$logs/e2e.tap" | tail -n 1)
  f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$logs/e2e.tap" | tail -n 1)
  if [ -z "$p" ]; then echo "e2e produced no summary"; failed=$((failed + 1)); else passed=$((passed + p)); failed=$((failed + f)); fi
else
  echo "npm ci (tests/e2e) failed"; failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
