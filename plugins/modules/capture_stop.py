#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: capture_stop
short_description: Stop a running full Cloudflare packet capture
version_added: 0.1.0
description:
  - Stops a C(full) packet capture that is pending or running (C(PUT /accounts/{account_id}/pcaps/{pcap_id}/stop)).
    Cloudflare then converts what was captured and writes it to the bucket.
  - Idempotent. A capture that was already asked to stop, or that has finished, is left alone with
    C(changed=false).
  - C(simple) captures cannot be stopped; they end at their C(time_limit).
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.common
  - cloudflare.pcap.attributes
  - cloudflare.pcap.attributes.actiongroup_all
attributes:
  check_mode:
    support: full
    details:
      - Reads the capture and reports whether it would be stopped, without stopping it.
  diff_mode:
    support: none
options:
  id:
    description:
      - The id of the full capture (32 hexadecimal characters).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Enough evidence, stop the full capture
  cloudflare.pcap.capture_stop:
    id: "{{ full_capture.id }}"
  register: stopped

- name: Show when the stop was requested
  ansible.builtin.debug:
    msg: "Stop requested at {{ stopped.capture.stop_requested | default('(already finished)') }}"
'''

RETURN = r'''
capture:
  description:
    - The capture after the stop request (or as it was, when nothing was done), with C(destination_conf) masked
      to scheme and bucket.
  returned: success
  type: dict
  sample:
    id: 66802ca5668e47a2b82c2e6746e45037
    status: conversion_pending
    type: full
    stop_requested: '2026-11-27T08:10:00Z'
    colo_name: ord02
    destination_conf: s3://pcaps-bucket?********
status_code:
  description: The HTTP status of Cloudflare's answer when the request failed.
  returned: failure, when Cloudflare answered
  type: int
  sample: 403
error_codes:
  description:
    - Cloudflare's error codes when the request failed.
    - Cloudflare documents no error codes of its own for packet captures; key on RV(status_code) instead.
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
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.operations import ACTIVE_STATUSES, get_capture, stop_capture
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import masked

ARGUMENT_SPEC = dict(
    id=dict(type='str', required=True),
)


def needs_stop(capture):
    return capture.get('status') in ACTIVE_STATUSES and not capture.get('stop_requested')


MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    module.check_id('id')
    capture_id = module.params['id']
    try:
        capture = get_capture(module.client, capture_id)
        if capture.get('type') != 'full':
            module.fail_json(msg='Packet capture %s is a %s capture; only full captures can be stopped, simple captures '
                                 'end at their time_limit' % (capture_id, capture.get('type')), capture=masked(capture))
        if not needs_stop(capture) or module.check_mode:
            module.exit_json(changed=needs_stop(capture), capture=masked(capture))
        try:
            stop_capture(module.client, capture_id)
        except CloudflareAPIError as exc:
            # It may have finished between the look and the stop; then there is nothing left to do.
            capture = get_capture(module.client, capture_id)
            if exc.status is None or exc.status >= 500 or needs_stop(capture):
                raise
            module.exit_json(changed=False, capture=masked(capture))
        capture = get_capture(module.client, capture_id)
    except CloudflareAPIError as exc:
        module.fail_api(exc, changed=False)
    module.exit_json(changed=True, capture=masked(capture))


if __name__ == '__main__':
    main()
