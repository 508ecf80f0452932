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

# export_connection: the CLOUDFLARE_* variables the modules read, set to the simulator's (as a user exports them).
export_connection() {
  CLOUDFLARE_API_TOKEN="$(read_config cloudflare_api_token)"
  CLOUDFLARE_ACCOUNT_ID="$(read_config cloudflare_account_id)"
  CLOUDFLARE_BASE_URL="$(read_config cloudflare_base_url)"
  export CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID CLOUDFLARE_BASE_URL
}
