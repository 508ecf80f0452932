#!/usr/bin/env bash
# The action plugins run a module in-process when it would run on the controller's own Python anyway, and as a
# module otherwise. Runs the same playbook both ways and compares what it got.
set -eu

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh
output="${OUTPUT_DIR:-$(mktemp -d)}"
unset CLOUDFLARE_API_TOKEN CLOUDFLARE_EMAIL CLOUDFLARE_API_KEY

run() {  # run WHERE [ansible-playbook arguments]
  local where="$1"
  shift
  mkdir -p "$output/$where"
  ansible-playbook playbook.yml -vvv -e @../../integration_config.yml -e "output_dir=$output" -e "where=$where" "$@" \
    > "$output/$where.txt" 2>&1 || {
    tail -60 "$output/$where.txt"
    exit 1
  }
}

run in-process
run module -e "ansible_python_interpreter=$(module_interpreter)"

# In-process: no cloudflare.pcap module went through AnsiballZ, except the async one.
grep -q 'cloudflare.pcap.capture_request runs in-process on the controller' "$output/in-process.txt"
grep -q 'cloudflare.pcap.capture_info runs as a module: async is set' "$output/in-process.txt"
test "$(grep -cE 'AnsiballZ_(capture|bucket)_[a-z_]+\.py' "$output/in-process.txt" || true)" -gt 0
if grep -E 'AnsiballZ_(capture_request|capture_download)' "$output/in-process.txt"; then
  echo 'capture_request or capture_download ran through AnsiballZ, expected in-process' >&2
  exit 1
fi
# As modules: the interpreter the inventory asked for.
grep -q 'cloudflare.pcap.capture_request runs as a module: ansible_python_interpreter is' "$output/module.txt"
grep -q 'AnsiballZ_capture_download.py' "$output/module.txt"

# Both ways, the same messages and the same result keys.
diff -u "$output/module.json" "$output/in-process.json"
echo "in-process and module runs agree: $(tr -d '\n ' < "$output/in-process.json" | head -c 300)"
