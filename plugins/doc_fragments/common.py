# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The options of COMMON_ARGUMENT_SPEC in plugins/module_utils/_module.py, shared by every module.
    DOCUMENTATION = r'''
options:
  api_token:
    description:
      - 'Cloudflare API token, sent as C(Authorization: Bearer).'
      - The token needs the C(Magic Firewall Packet Captures - Write PCAPs API) permission to create, stop or
        change captures and buckets, or the C(Read PCAPs API) permission to read them.
      - If not set, the environment variable E(CLOUDFLARE_API_TOKEN) is used.
      - Use one of O(api_token), O(api_token_file), or O(api_email) with O(api_key).
    type: str
  api_token_file:
    description:
      - Path of a file that holds the Cloudflare API token (one line; a trailing newline is ignored), read on the
        host the module runs on. The token is used as O(api_token) is, and never shows in the task's output.
      - Other users must neither read nor write the file (for example mode C(0600) or C(0400)); the module
        refuses it otherwise, before any request.
      - If not set, the environment variable E(CLOUDFLARE_API_TOKEN_FILE) is used.
      - Use it instead of O(api_token) or E(CLOUDFLARE_API_TOKEN) where the environment is written to disk, as
        ansible-runner (run by ansible-rulebook) does in its C(artifacts/*/command) file.
      - Mutually exclusive with O(api_token), O(api_email) and O(api_key).
    type: path
  api_email:
    description:
      - E-mail address of the Cloudflare user, sent as C(X-Auth-Email) with O(api_key) (legacy global API key
        authentication).
      - If not set, the environment variable E(CLOUDFLARE_EMAIL) is used.
    type: str
  api_key:
    description:
      - Global API key of the Cloudflare user, sent as C(X-Auth-Key). Requires O(api_email).
      - Prefer a scoped O(api_token).
      - If not set, the environment variable E(CLOUDFLARE_API_KEY) is used.
    type: str
  account_id:
    description:
      - Identifier of the Cloudflare account (32 hexadecimal characters).
      - If not set, the environment variable E(CLOUDFLARE_ACCOUNT_ID) is used.
      - Required, through this option or E(CLOUDFLARE_ACCOUNT_ID); checked before any request is sent.
    type: str
    required: true
  base_url:
    description:
      - Base URL of the Cloudflare API v4.
      - If not set, the environment variable E(CLOUDFLARE_BASE_URL) is used, then the default.
      - Change it only to reach a proxy or a test stand-in of the API.
      - A plain C(http://) URL is refused before any request, because it would send your credentials unencrypted,
        unless its host is this machine (C(localhost), C(127.0.0.0/8) or C(::1)) or O(allow_insecure_http=true).
    type: str
    default: https://api.cloudflare.com/client/v4
  allow_insecure_http:
    description:
      - Allow a plain C(http://) O(base_url) to a host other than this machine, which sends your API token or
        global API key unencrypted. For test endpoints only; the module warns when it is used.
      - There is no environment variable for it on purpose, so that a left-over environment of a test session
        cannot silently allow it.
    type: bool
    default: false
  validate_certs:
    description:
      - Whether to verify the TLS certificate of O(base_url).
      - Turning it off sends your credentials to whoever answers; the module warns when it is off.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for Cloudflare to accept the connection and to send each part of an answer.
    type: int
    default: 30
  retries:
    description:
      - How many times a request that is safe to repeat (reading, stopping, deleting) is retried after a
        connection error, a timeout, HTTP 429, HTTP 500, 502, 503 or 504, or one of Cloudflare's 520 to 524.
      - Waits between attempts grow exponentially with random jitter and respect C(Retry-After) (at most 60
        seconds). Each retry is reported as a warning.
      - Requests that create something are never retried blindly.
      - V(0) disables retries.
    type: int
    default: 3
requirements:
  - requests (Python library, on the host that runs the module)
notes:
  - The module talks to the Cloudflare API from the host it runs on, usually C(localhost) or the AWX
    execution environment; it does not touch the managed hosts.
'''
