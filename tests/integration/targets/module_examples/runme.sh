#!/usr/bin/env bash
# Every module's EXAMPLES run, unchanged, against the simulator, so the documentation cannot rot.
set -euo pipefail

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh
output="${OUTPUT_DIR:-$(mktemp -d)}"

# The examples that rely on the environment for credentials get them as AWX or a shell would give them.
CLOUDFLARE_API_TOKEN="$(read_config cloudflare_api_token)"
CLOUDFLARE_ACCOUNT_ID="$(read_config cloudflare_account_id)"
CLOUDFLARE_BASE_URL="$(read_config cloudflare_base_url)"
export CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID CLOUDFLARE_BASE_URL

mkdir -p "$output/examples" "$output/incident"

# evidence_copy's example copies to s3://soc-evidence/pcaps?region=eu-west-1: that bucket (make_playbooks.py creates
# it) in moto's S3 on loopback, reached the way boto3 is pointed at any S3-compatible store (AWS_ENDPOINT_URL and the standard key variables).
AWS_ENDPOINT_URL="$(read_config bucket_store_url)"
AWS_ACCESS_KEY_ID="$(read_config bucket_store_access_key_id)"
AWS_SECRET_ACCESS_KEY="$(read_config bucket_store_secret_access_key)"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
python make_playbooks.py "$output/examples" > "$output/modules.txt"
test "$(wc -l < "$output/modules.txt")" -ge 6

while read -r module; do
  # Quick captures and no one-a-minute rule: the examples request several captures in a row.
  simulator_post /reset
  # capture_stop's examples stop a full capture, which must still be running then, however slow the machine.
  running_seconds=1
  if [ "$module" = capture_stop ]; then running_seconds=300; fi
  simulator_post /config "{\"simple_per_minute\": false, \"full_one_at_a_time\": false, \"pending_seconds\": 0.2, \"running_seconds\": $running_seconds, \"conversion_seconds\": 0.2}"
  # Full captures go only to a validated bucket; the bucket_ownership examples add and validate their own.
  if [ "$module" != bucket_ownership ]; then
    simulator_post /buckets '{"destination_conf": "s3://pcaps-bucket?region=us-east-1", "validated": true}'
  fi
  mkdir -p "$output/incident/$module"  # one case folder a module: a SHA256SUMS holds one capture's files
  echo "=== EXAMPLES of cloudflare.pcap.$module"
  ansible-playbook "$output/examples/$module.yml" -e @../../integration_config.yml \
    -e "incident_dir=$output/incident/$module" \
    -e 'pcap_bucket_uri=s3://pcaps-bucket?region=us-east-1' \
    -e "cloudflare_base_url=$CLOUDFLARE_BASE_URL" | tee "$output/$module.log"
done < "$output/modules.txt"

# The stop example did stop the running capture.
grep -q 'Stop requested at 20' "$output/capture_stop.log"
