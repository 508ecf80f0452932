#!/usr/bin/env bash
# The action plugins run a module in-process when it would run on the controller's own Python anyway, and as a
# module otherwise. Runs the same playbook three ways and compares what it got:
# - in-process: the implicit localhost (its ansible_python_interpreter is the Python running Ansible);
# - module: an inventory localhost with the opt-out host variable cloudflare_pcap_in_process=false;
# - same-python: the Python running Ansible spelled differently (DIR/./NAME), which is still that Python.
set -eu

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh
output="${OUTPUT_DIR:-$(mktemp -d)}"
unset CLOUDFLARE_API_TOKEN CLOUDFLARE_EMAIL CLOUDFLARE_API_KEY CLOUDFLARE_ACCOUNT_ID CLOUDFLARE_BASE_URL

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

# An inventory as AWX or a user would write it: the opt-out as a host variable.
cat > "$output/inventory.ini" <<INI
localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}" cloudflare_pcap_in_process=false
INI

run in-process
run module -i "$output/inventory.ini"
run same-python -e "ansible_python_interpreter=$(python -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), ".", os.path.basename(sys.executable)))')"

# In-process: no cloudflare.pcap module went through AnsiballZ, except the async one.
for where in in-process same-python; do
  grep -q 'cloudflare.pcap.capture_request runs in-process on the controller' "$output/$where.txt"
  grep -q 'cloudflare.pcap.capture_info runs as a module: async is set' "$output/$where.txt"
  test "$(grep -cE 'AnsiballZ_(capture|bucket)_[a-z_]+\.py' "$output/$where.txt" || true)" -gt 0
  if grep -E 'AnsiballZ_(capture_request|capture_download)' "$output/$where.txt"; then
    echo "$where: capture_request or capture_download ran through AnsiballZ, expected in-process" >&2
    exit 1
  fi
done
# As modules: the opt-out, every module, every time.
grep -q 'cloudflare.pcap.capture_request runs as a module: cloudflare_pcap_in_process is false' "$output/module.txt"
grep -q 'AnsiballZ_capture_download.py' "$output/module.txt"
if grep -q 'runs in-process on the controller' "$output/module.txt"; then
  echo 'module: a module ran in-process although cloudflare_pcap_in_process is false' >&2
  exit 1
fi

# Every way, the same messages and the same result keys.
diff -u "$output/module.json" "$output/in-process.json"
diff -u "$output/same-python.json" "$output/in-process.json"
echo "in-process, module and same-python runs agree: $(tr -d '\n ' < "$output/in-process.json" | head -c 300)"
