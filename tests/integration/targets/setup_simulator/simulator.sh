# shellcheck shell=bash
# Sourced by the runme.sh targets (with needs/target/setup_simulator in their aliases): the connection settings
# that `make test` writes to integration_config.yml, and a way to drive the simulator's admin API.

integration_config=../../integration_config.yml

# read_config KEY: one value of integration_config.yml.
read_config() { python -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))[sys.argv[2]])" "$integration_config" "$1"; }

# simulator_post PATH [JSON]: POST to the simulator's admin API, e.g. simulator_post /reset.
simulator_post() {
  python -c "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method='POST', headers={'Content-Type': 'application/json'}))" \
    "$(read_config simulator_url)$1" "${2:-{\}}"
}
