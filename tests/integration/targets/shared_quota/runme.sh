#!/usr/bin/env bash
# Many jobs, one credential: four ansible-playbook processes, each one `capture_request wait=true` task that knows
# nothing of the others, share a quota scaled down from Cloudflare's 1,200 requests per 5 minutes to 40 per 30 s
# (the simulator's rate_limit / rate_limit_window; limits.mdx). Their polls alone would spend 40 requests in about
# 15 s. Expected: none trips the lock-out (no answer 429 in the simulator's request log), all four succeed, and the
# quota is used (more requests than one window allows).
set -eux

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh

export_connection
output="${OUTPUT_DIR:-$(mktemp -d)}"

simulator_post /reset
# Four sampled captures at once in one account: the one-a-minute rule (collect-pcaps.mdx) is switched off here, as
# this target is about the request quota alone. Each capture runs its time_limit of 40 s, polled all along.
simulator_post /config '{"rate_limit": 40, "rate_limit_window": 30, "lockout_seconds": 300, "simple_per_minute": false}'

started=$(date +%s)
pids=()
for port in 53 80 443 8443; do
  ansible-playbook -e "port=$port" capture.yml "$@" > "$output/job-$port.txt" 2>&1 &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
echo "four jobs done in $(( $(date +%s) - started )) s"
if [ "$failed" != 0 ]; then
  tail -n 30 "$output"/job-*.txt
  exit 1
fi

python - "$(read_config simulator_url)/requests" "$output" <<'PY'
import collections, glob, json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1]))
statuses = collections.Counter(entry['status'] for entry in log)
print('requests by status: %s' % dict(statuses))
assert 429 not in statuses, 'the quota was exceeded: %s' % statuses
assert len(log) > 40, 'fewer requests than one window allows: %d' % len(log)
for job in sorted(glob.glob(sys.argv[2] + '/job-*.txt')):
    text = open(job).read()
    assert 'capture_status=success' in text, (job, text[-2000:])
print('4 jobs, %d requests, none refused' % len(log))
PY
