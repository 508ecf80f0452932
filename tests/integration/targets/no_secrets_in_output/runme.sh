#!/usr/bin/env bash
# Secrets never show in anything ansible-playbook prints at -vvvv, on success or failure: the API token, the
# global API key, wrong credentials, the keys inside an R2 bucket URI, the bucket keys given to capture_download, and
# tokens read from a file (api_token_file).
set -eu

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh
output="${OUTPUT_DIR:-$(mktemp -d)}"

export LEAK_CHECK_BUCKET='r2://pcaps-evidence?account-id=0123&access-key-id=LEAKCHECKKEYID&secret-access-key=LEAKCHECKBUCKETSECRET'
export LEAK_CHECK_WRONG_TOKEN=leak-check-LEAKCHECKWRONGTOKEN
export LEAK_CHECK_NEWLINE_TOKEN=$'LEAKCHECKNEWLINETOKEN\n'
export LEAK_CHECK_WRONG_KEY=LEAKCHECKWRONGGLOBALKEY
# Tokens in files (api_token_file): the right one, a wrong one, and one that other users could read.
token_files="$(mktemp -d "$output/token-files-XXXXXX")"  # in the output directory: ansible-test does not pass TMPDIR on
(umask 077 && read_config cloudflare_api_token > "$token_files/right" && echo LEAKCHECKFILETOKEN > "$token_files/wrong")
echo LEAKCHECKREADABLEFILETOKEN > "$token_files/readable" && chmod 0644 "$token_files/readable"
export LEAK_CHECK_TOKEN_FILES="$token_files"

# Once as the action plugins run the modules on the controller (in-process), once as modules (AnsiballZ).
for where in in-process module; do
  as_module=()
  [ "$where" = module ] && as_module=(-e cloudflare_pcap_in_process=false)
  ansible-playbook playbook.yml -vvvv -e @../../integration_config.yml -e "output_dir=$output" "${as_module[@]}" \
    > "$output/vvvv-$where.txt" 2>&1 || {
    tail -50 "$output/vvvv-$where.txt"
    exit 1
  }
  if [ "$where" = module ]; then
    grep -q 'runs as a module: cloudflare_pcap_in_process is false' "$output/vvvv-$where.txt"
    grep -q 'AnsiballZ_capture_request.py' "$output/vvvv-$where.txt"
  else
    grep -q 'runs in-process on the controller' "$output/vvvv-$where.txt"
    if grep -E 'AnsiballZ_(capture|bucket)_' "$output/vvvv-$where.txt"; then
      echo 'a cloudflare.pcap module ran through AnsiballZ instead of in-process' >&2
      exit 1
    fi
  fi
done
cat "$output/vvvv-in-process.txt" "$output/vvvv-module.txt" > "$output/vvvv.txt"

leaked=0
for secret in "$(read_config cloudflare_api_token)" "$(read_config cloudflare_api_key)" LEAKCHECKKEYID \
    LEAKCHECKBUCKETSECRET LEAKCHECKWRONGTOKEN LEAKCHECKNEWLINETOKEN LEAKCHECKWRONGGLOBALKEY LEAKCHECKS3KEYID \
    LEAKCHECKS3SECRETKEY LEAKCHECKS3SESSIONTOKEN LEAKCHECKFILETOKEN LEAKCHECKREADABLEFILETOKEN; do
  if grep -n -F -- "$secret" "$output/vvvv.txt"; then
    echo "secret leaked: ${secret:0:6}..." >&2
    leaked=1
  fi
done
exit "$leaked"
