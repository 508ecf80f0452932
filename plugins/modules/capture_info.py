#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: capture_info
short_description: List Cloudflare packet captures, or get one
version_added: 0.1.0
description:
  - Without O(id), lists the packet captures of the account (C(GET /accounts/{account_id}/pcaps)), optionally
    only those of some O(status) or O(type).
  - With O(id), gets that capture (C(GET /accounts/{account_id}/pcaps/{pcap_id})). A capture that does not exist
    is reported with RV(found=false), not as a failure.
  - Reads only; nothing is changed.
  - Cloudflare lists at most the 50 most recent capture requests, so older captures may be missing from RV(captures)
    although O(id) still finds them.
  - A capture is finished when its status is V(success) or V(complete), whatever its type; RV(finished) says so for
    O(id), the same way as O(cloudflare.pcap.capture_request#module:wait) and M(cloudflare.pcap.capture_download)
    decide it.
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.common
  - cloudflare.pcap.attributes
  - cloudflare.pcap.attributes.actiongroup_all
  - cloudflare.pcap.attributes.info_module
options:
  id:
    description:
      - The id of one capture (32 hexadecimal characters).
    type: str
  status:
    description:
      - Only list captures with one of these statuses. Ignored with O(id).
    type: list
    elements: str
    choices: [unknown, pending, running, conversion_pending, conversion_running, success, complete, failed]
  type:
    description:
      - Only list captures of this type. Ignored with O(id).
    type: str
    choices: [simple, full]
'''

EXAMPLES = r'''
- name: Captures still in progress
  cloudflare.pcap.capture_info:
    status: [pending, running]
  register: in_progress

- name: Show them
  ansible.builtin.debug:
    msg: "{{ in_progress.captures | map(attribute='id') | list }}"

- name: One capture
  cloudflare.pcap.capture_info:
    id: "{{ capture.id }}"
  register: one

- name: Fail unless it finished (status success or complete)
  ansible.builtin.assert:
    that:
      - one.found
      - one.finished
'''

RETURN = r'''
captures:
  description:
    - The captures of the account that match O(status) and O(type), newest first as Cloudflare lists them;
      an empty list when there are none.
    - C(destination_conf) is masked to scheme and bucket.
  returned: success, without O(id)
  type: list
  elements: dict
  sample:
    - id: 66802ca5668e47a2b82c2e6746e45037
      status: success
      submitted: '2026-11-27T08:00:00Z'
      type: simple
      system: magic-transit
      time_limit: 60
      filter_v1:
        destination_address: 203.0.113.10
        destination_port: 443
        protocol: 6
found:
  description: Whether the capture O(id) exists.
  returned: success, with O(id)
  type: bool
  sample: true
finished:
  description:
    - Whether the capture O(id) is finished, that is its status is V(success) or V(complete).
    - V(false) for every other status, including V(unknown), which is neither finished nor in progress.
  returned: success, with O(id), when found
  type: bool
  sample: false
capture:
  description: The capture O(id), with C(destination_conf) masked to scheme and bucket.
  returned: success, with O(id), when found
  type: dict
  sample:
    id: 66802ca5668e47a2b82c2e6746e45037
    status: running
    submitted: '2026-11-27T08:00:00Z'
    type: full
    system: magic-transit
    time_limit: 3600
    colo_name: ord02
    destination_conf: s3://pcaps-bucket?********
    packets_captured: 12345
status_code:
  description: The HTTP status of Cloudflare's answer when the request failed.
  returned: failure, when Cloudflare answered
  type: int
  sample: 403
error_codes:
  description: Cloudflare's error codes when the request failed.
  returned: failure, when Cloudflare's answer listed errors
  type: list
  elements: int
  sample: [10000]
errors:
  description: Cloudflare's error list (code and message) when the request failed.
  returned: failure, when Cloudflare's answer listed errors
  type: list
  elements: dict
  sample:
    - code: 10000
      message: Authentication error
retry_after:
  description: Seconds Cloudflare asked to wait before the next attempt (C(Retry-After)), when it said so.
  returned: failure, when Cloudflare sent Retry-After
  type: int
  sample: 42
retry_at:
  description:
    - When Cloudflare's C(Retry-After) ends, as an RFC 3339 UTC time. After more than 1,200 requests in 5 minutes,
      Cloudflare refuses every call of the credential until then, and the task fails at once instead of waiting.
  returned: failure, when Cloudflare sent Retry-After
  type: str
  sample: '2026-11-27T08:05:00Z'
'''

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.operations import STATUSES, get_capture, is_finished, list_captures
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import masked

ARGUMENT_SPEC = dict(
    id=dict(type='str'),
    status=dict(type='list', elements='str', choices=list(STATUSES)),
    type=dict(type='str', choices=['simple', 'full']),
)


def wanted(capture, statuses, capture_type):
    """Whether a capture passes the status and type filters (an unset filter passes everything)."""
    if statuses and capture.get('status') not in statuses:
        return False
    return not capture_type or capture.get('type') == capture_type


MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    module.check_id('id')
    capture_id = module.params['id']
    try:
        if capture_id:
            capture = get_capture(module.client, capture_id, missing_ok=True)
            if capture is None:
                module.exit_json(changed=False, found=False)
            module.exit_json(changed=False, found=True, finished=is_finished(capture), capture=masked(capture))
        captures = [masked(capture) for capture in list_captures(module.client)
                    if wanted(capture, module.params['status'], module.params['type'])]
    except CloudflareAPIError as exc:
        module.fail_api(exc, changed=False)
    module.exit_json(changed=False, captures=captures)


if __name__ == '__main__':
    main()
