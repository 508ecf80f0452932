#!/usr/bin/env bash
# The README's plays and ad-hoc command run as written (readme_plays.py says how), with only the environment the
# README tells users to export: CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID, plus CLOUDFLARE_BASE_URL for the
# simulator.
set -euo pipefail

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh

CLOUDFLARE_API_TOKEN="$(read_config cloudflare_api_token)"
CLOUDFLARE_ACCOUNT_ID="$(read_config cloudflare_account_id)"
CLOUDFLARE_BASE_URL="$(read_config cloudflare_base_url)"
simulator_url="$(read_config simulator_url)"
unset CLOUDFLARE_EMAIL CLOUDFLARE_API_KEY
export CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID CLOUDFLARE_BASE_URL

python readme_plays.py "$simulator_url" "$(mktemp -d "${OUTPUT_DIR:-/tmp}/readme-plays-XXXXXX")"
