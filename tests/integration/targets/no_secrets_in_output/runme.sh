#!/usr/bin/env bash
# Secrets never show in anything ansible-playbook prints at -vvvv, on success or failure: the API token, the
# global API key, wrong credentials, and the keys inside an R2 bucket URI.
set -eu

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh
output="${OUTPUT_DIR:-$(mktemp -d)}"

export LEAK_CHECK_BUCKET='r2://pcaps-evidence?account-id=0123&access-key-id=LEAKCHECKKEYID&secret-access-key=LEAKCHECKBUCKETSECRET'
export LEAK_CHECK_WRONG_TOKEN=leak-check-LEAKCHECKWRONGTOKEN
export LEAK_CHECK_NEWLINE_TOKEN=$'LEAKCHECKNEWLINETOKEN\n'
export LEAK_CHECK_WRONG_KEY=LEAKCHECKWRONGGLOBALKEY

ansible-playbook playbook.yml -vvvv -e @../../integration_config.yml -e "output_dir=$output" > "$output/vvvv.txt" 2>&1 || {
  tail -50 "$output/vvvv.txt"
  exit 1
}

# The run did meet the failures it was meant to meet.
grep -q 'HTTP 403' "$output/vvvv.txt"
grep -q 'HTTP 429' "$output/vvvv.txt"
grep -q 'api_token: contains whitespace or control characters' "$output/vvvv.txt"
grep -q 'r2://pcaps-evidence?\*\*\*\*\*\*\*\*' "$output/vvvv.txt"

leaked=0
for secret in "$(read_config cloudflare_api_token)" "$(read_config cloudflare_api_key)" LEAKCHECKKEYID \
    LEAKCHECKBUCKETSECRET LEAKCHECKWRONGTOKEN LEAKCHECKNEWLINETOKEN LEAKCHECKWRONGGLOBALKEY; do
  if grep -n -F -- "$secret" "$output/vvvv.txt"; then
    echo "secret leaked: ${secret:0:6}..." >&2
    leaked=1
  fi
done
exit "$leaked"
