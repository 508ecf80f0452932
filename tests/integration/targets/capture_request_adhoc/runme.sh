#!/usr/bin/env bash
# The ad-hoc use from the README: credentials only in the environment, one `ansible` command,
# the capture id and status printed. Also searches everything printed at -vvvv for the secrets.
set -eux

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh

export_connection
output="${OUTPUT_DIR:-$(mktemp -d)}"

simulator_post /reset

# A successful ad-hoc request prints the new capture's id and status ("localhost | CHANGED => {...}").
ansible localhost -m cloudflare.pcap.capture_request \
  -a 'time_limit=30 packet_limit=100 filter_v1={"destination_port":53,"protocol":17}' | tee "$output/adhoc.txt"
python - "$output/adhoc.txt" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
assert text.startswith('localhost | CHANGED => '), text
result = json.loads(text.split(' => ', 1)[1])
assert re.match('^[0-9a-f]{32}$', result['id']), result
assert result['status'] == 'pending', result
assert result['request']['filter_v1'] == {'destination_port': 53, 'protocol': 17}, result
print('ad-hoc capture %s status %s' % (result['id'], result['status']))
PY

# Secrets never show, even at -vvvv, on success or failure.
simulator_post /reset
destination='r2://pcaps?account-id=1&access-key-id=ADHOCKEYID&secret-access-key=ADHOCBUCKETSECRET'
# Full captures go only to a validated bucket.
simulator_post /buckets "{\"destination_conf\": \"$destination\", \"validated\": true}"
ansible localhost -vvvv -m cloudflare.pcap.capture_request \
  -a "type=full colo_name=ord02 time_limit=60 destination_conf=$destination" > "$output/verbose.txt" 2>&1
CLOUDFLARE_API_TOKEN=adhoc-wrong-token-ADHOCWRONGTOKEN ansible localhost -vvvv -m cloudflare.pcap.capture_request \
  -a 'time_limit=30 packet_limit=100' >> "$output/verbose.txt" 2>&1 && exit 1
grep -q 'HTTP 403' "$output/verbose.txt"
grep -q 'r2://pcaps?\*\*\*\*\*\*\*\*' "$output/verbose.txt"
for secret in "$CLOUDFLARE_API_TOKEN" ADHOCWRONGTOKEN ADHOCBUCKETSECRET ADHOCKEYID; do
  if grep -F -- "$secret" "$output/verbose.txt"; then
    echo "secret leaked: $secret" >&2
    exit 1
  fi
done
