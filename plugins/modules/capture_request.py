#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: capture_request
short_description: Request a Cloudflare Magic Transit packet capture
version_added: 0.1.0
description:
  - Creates a packet capture (PCAP) request with Cloudflare's PCAP API
    (C(POST /accounts/{account_id}/pcaps)) and returns its id and status.
  - The options are the fields of the request body, with the same names.
  - Every option is checked against Cloudflare's rules for the capture O(type) and against Cloudflare's request
    schema before anything is sent; a broken rule fails the task with a message naming the option, and no request
    is made.
  - A C(simple) capture collects sampled packets for up to 300 seconds and can be downloaded afterwards. A C(full)
    capture collects every packet in one data center for up to 24 hours and writes it to a bucket of yours
    (O(destination_conf)).
  - Cloudflare accepts one C(simple) capture per minute and one pending or running C(full) capture per account.
  - Cloudflare's documentation disagrees on the longest C(full) capture. Its API schema allows a O(time_limit) of up
    to V(86400) seconds, a packet captures page of 2026-03 says both types run at most V(300) seconds. The module
    accepts what the schema allows and Cloudflare decides.
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
      - Validates everything and returns the RV(request) body that would be sent, without sending it.
      - Reads the account's capture list once (C(GET /accounts/{account_id}/pcaps)), which verifies the credentials
        and O(account_id). A wrong token or account fails the task with the HTTP status, as the real run would.
      - Predicts C(changed) from that list. When an identical capture is in progress, it returns that capture
        with C(changed=false), as the real run would; otherwise C(changed=true) and no RV(id). It never waits.
  diff_mode:
    support: none
options:
  type:
    description:
      - The type of capture. V(simple) captures sampled packets; V(full) captures entire payloads and
        non-sampled packets into a bucket.
    type: str
    choices: [simple, full]
    default: simple
  system:
    description:
      - The system that collects the packets.
    type: str
    choices: [magic-transit]
    default: magic-transit
  time_limit:
    description:
      - How long the capture runs, in seconds.
      - V(1) to V(300) for a C(simple) capture, V(1) to V(86400) for a C(full) capture.
    type: int
    required: true
  packet_limit:
    description:
      - The maximum number of packets to capture, V(1) to V(10000).
      - Required when O(type=simple), optional when O(type=full).
    type: int
  byte_limit:
    description:
      - The maximum number of bytes to capture, V(1) to V(1000000000).
      - Only for O(type=full).
    type: int
  colo_name:
    description:
      - The data center to capture in, either one colo (V(ord02)) or a multi-colo name (V(ORD)).
      - Required when O(type=full), rejected otherwise.
    type: str
  destination_conf:
    description:
      - The full URI of the bucket the capture is written to, for example V(s3://pcaps-bucket?region=us-east-1).
      - Required when O(type=full), rejected otherwise. The bucket must be registered and validated with
        Cloudflare first.
      - Treated as a secret (R2 and S3 URIs can carry access keys); results show only its scheme and bucket.
    type: str
  filter_v1:
    description:
      - Which packets to capture. Without it, every packet is captured.
    type: dict
    suboptions:
      source_address:
        description:
          - Source IPv4 or IPv6 address of the packets. It is sent in its normal form (IPv6 compressed, lower case);
            an address with a zone index such as V(fe80::1%eth0) is refused.
        type: str
      destination_address:
        description:
          - Destination IPv4 or IPv6 address of the packets. It is sent in its normal form (IPv6 compressed, lower
            case); an address with a zone index such as V(fe80::1%eth0) is refused.
        type: str
      source_port:
        description: Source port of the packets, V(0) to V(65535).
        type: int
      destination_port:
        description: Destination port of the packets, V(0) to V(65535).
        type: int
      protocol:
        description: IP protocol number of the packets, V(0) to V(255), for example V(6) for TCP, V(17) for UDP.
        type: int
  offset_time:
    description:
      - An RFC 3339 timestamp (V(2026-01-31T08:00:00Z)) from which to look backwards for packets, within the
        last 24 hours and not in the future.
      - Only for O(type=simple). Without it, the capture starts at the time of the request.
    type: str
  not_before:
    description:
      - A Unix time in seconds (V(1796047665.0)) before which nothing is sent to Cloudflare - the module waits until
        then, and then requests. For a queue that spaces captures, such as the start slots the rulebook's filter
        C(cloudflare.pcap.attack_alert) gives (Cloudflare allows one simple capture a minute per account). Waiting
        inside the module keeps the time between the slot and the request short.
      - A time in the past requests at once; one more than 24 hours ahead is refused. Check mode does not wait.
    type: float
  spacing_file:
    description:
      - A file (created with mode 0600) shared by the requests of one account on the host the module runs on. Under
        an exclusive lock on it, the module waits for O(not_before) and until O(spacing) seconds after the last
        request recorded there, requests, records the time and lets go. So requests of that host are never closer
        than O(spacing), even when a process reaches its O(not_before) late (a busy host).
      - Without it, only O(not_before) is waited for. Check mode neither waits nor records.
    type: path
  spacing:
    description:
      - Seconds between two requests that share O(spacing_file). Cloudflare allows one simple capture a minute per
        account; lower it only for a test against a simulator whose clock runs faster.
    type: float
    default: 60
  force:
    description:
      - Request a new capture even when a pending or running capture with exactly these parameters exists, and
        even when the account's captures cannot be listed to look for one.
    type: bool
    default: false
  wait:
    description:
      - Wait until the capture is finished (status V(success) or V(complete), for either type) or has failed
        (V(failed)) before returning.
      - The task fails when the capture fails, with Cloudflare's C(error_message) when it gives one.
      - V(unknown) is neither finished nor in progress. When Cloudflare reports it three polls in a row, the wait
        ends and the task fails, saying so, instead of polling until O(wait_timeout).
      - Polls every 2 seconds for the first 20 seconds, then every 3 seconds (never more than 30 requests a minute),
        so completion is noticed within 2 or 3 seconds.
      - Once Cloudflare's C(Ratelimit) header says the credential's quota is down to the reserve this task leaves to
        the credential's other users (a quarter of the quota), the next poll waits for the quota's reset, with
        jitter; the wait still ends at O(wait_timeout).
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait when O(wait=true). When they pass, the task fails and returns the last state of
        the capture it saw; the capture itself goes on.
      - A capture takes its O(time_limit) plus Cloudflare's conversion time.
    type: int
    default: 600
notes:
  - Creating a capture has no natural key. Before creating one, the module lists the account's captures and, if
    one requested the same way is still V(pending) or V(running), returns it with C(changed=false) instead of
    starting a second one; O(force=true) skips this. Re-running a play or an AWX job therefore does not duplicate a
    capture that is still in progress. A C(simple) capture may finish at once (it queries stored traffic); when
    Cloudflare refuses a re-run within the minute (one C(simple) capture a minute) and the capture in the way was
    requested the same way and did not fail, that capture is returned with C(changed=false) and a warning. When the
    captures cannot be listed, nothing is requested and the task fails, saying what would help. That is
    O(force=true) only when Cloudflare answered but the list was unusable (HTTP 5xx, or no list); after a refused
    credential, a wrong account, an unreachable O(base_url) or a rate limit, the create request would fail the same
    way, and the message says what to check or until when to wait.
  - A capture can only be compared on what Cloudflare echoes of it, put in normal form on both sides (IPv6
    compressed, O(offset_time) in UTC, numbers as integers, the bucket without its access keys). Cloudflare echoes
    O(type), O(system), O(time_limit), O(filter_v1) and O(offset_time) of a C(simple) capture, and also
    O(byte_limit), O(colo_name) and O(destination_conf) of a C(full) one, but never O(packet_limit). So a capture in
    progress that differs only in O(packet_limit) is reused; set O(force=true) to get one with the new limit. An
    O(offset_time) computed from C(now()) differs at each run, so such a task requests a new capture each time.
  - The create request is never retried. When its answer is lost (timeout, connection reset, HTTP 5xx), the module
    lists the captures again and adopts the one capture that was not listed before and matches; with several such
    captures it fails and names them all, and it says that no capture was created only when the listing proves it
    (Cloudflare lists at most 50 captures, which proves less, and the message says so).
  - Parallel tasks race for one capture, for example C(hosts=all) with C(delegate_to=localhost). Set
    C(run_once=true) on such a task. When Cloudflare refuses the second create (HTTP 429, one C(simple) capture a
    minute, one C(full) capture at a time) because an identical capture was just created, that capture is used
    with a warning; when two identical captures are in progress, the module warns and names both.
  - In check mode the module sends one read, the capture list, and nothing that changes anything. The read proves
    that the credentials reach the account, and tells whether an identical capture in progress would be reused
    (C(changed=false), with its RV(id)) or a new one requested (C(changed=true)). Whether Cloudflare would accept a
    new C(simple) capture within its one-a-minute limit cannot be read; when the last one was submitted less than a
    minute ago by this host's clock, check mode warns.
seealso:
  - name: Cloudflare packet captures
    description: Cloudflare's guide to packet captures for Magic Transit and Magic WAN.
    link: https://developers.cloudflare.com/cloudflare-network-firewall/packet-captures/collect-pcaps/
'''

EXAMPLES = r'''
- name: Capture 60 seconds of HTTPS traffic to one address (sampled)
  cloudflare.pcap.capture_request:
    api_token: "{{ cloudflare_api_token }}"
    account_id: "{{ cloudflare_account_id }}"
    time_limit: 60
    packet_limit: 5000
    filter_v1:
      destination_address: 203.0.113.10
      destination_port: 443
      protocol: 6
  register: capture

- name: Show the capture id and status
  ansible.builtin.debug:
    msg: "Capture {{ capture.id }} is {{ capture.status }}"

- name: Look back 10 minutes, credentials from CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID
  cloudflare.pcap.capture_request:
    time_limit: 30
    packet_limit: 1000
    offset_time: "{{ '%Y-%m-%dT%H:%M:%SZ' | strftime(now(utc=true).timestamp() - 600, utc=true) }}"

- name: Full capture in one data center, written to a validated bucket
  cloudflare.pcap.capture_request:
    type: full
    colo_name: ord02
    destination_conf: "{{ pcap_bucket_uri }}"
    time_limit: 3600
    byte_limit: 500000000
    filter_v1:
      source_address: 198.51.100.7

- name: Capture, and wait until the capture is ready for download
  cloudflare.pcap.capture_request:
    time_limit: 120
    packet_limit: 10000
    filter_v1:
      source_address: 198.51.100.7
    wait: true
    wait_timeout: 600
  register: finished

- name: Validate parameters and credentials only (check mode reads the capture list, requests nothing)
  cloudflare.pcap.capture_request:
    time_limit: 300
    packet_limit: 10000
  check_mode: true
  register: planned
'''

RETURN = r'''
id:
  description: The id of the capture (new, or the identical one still in progress that was reused).
  returned: success; in check mode only when an identical capture in progress would be reused
  type: str
  sample: 66802ca5668e47a2b82c2e6746e45037
status:
  description:
    - The status of the capture as Cloudflare last reported it, usually V(pending) right after the request, and a
      final status with O(wait=true).
    - One of V(unknown), V(pending), V(running), V(conversion_pending), V(conversion_running), V(success),
      V(complete) or V(failed).
  returned: success; in check mode only when an identical capture in progress would be reused
  type: str
  sample: pending
capture:
  description:
    - The capture as Cloudflare returned it, with O(destination_conf) masked. Cloudflare does not echo
      O(packet_limit).
    - The same key as in the results of the other modules of the collection.
  returned: success; in check mode only when an identical capture in progress would be reused
  type: dict
  sample:
    id: 66802ca5668e47a2b82c2e6746e45037
    status: pending
    submitted: '2026-11-27T08:00:00Z'
    type: simple
    system: magic-transit
    time_limit: 60
    filter_v1:
      destination_address: 203.0.113.10
      destination_port: 443
      protocol: 6
pcap:
  description:
    - The same as RV(capture).
    - B(This return value is deprecated and will be removed from cloudflare.pcap 0.2.0.) Use RV(capture) instead.
      With ansible-core 2.19 or newer, a task that uses it gets a deprecation warning.
  returned: success, except in check mode
  type: dict
  sample:
    id: 66802ca5668e47a2b82c2e6746e45037
    status: pending
elapsed:
  description: Seconds spent waiting for the capture to finish.
  returned: success, when O(wait=true)
  type: float
  sample: 71.3
request:
  description:
    - The request body that was sent, or that would be sent in check mode, with O(destination_conf) masked. In
      check mode with an identical capture in progress, nothing would be sent.
  returned: always
  type: dict
  sample:
    type: simple
    system: magic-transit
    time_limit: 60
    packet_limit: 5000
    filter_v1:
      destination_address: 203.0.113.10
      destination_port: 443
      protocol: 6
status_code:
  description: The HTTP status of Cloudflare's answer when the request failed.
  returned: failure, when Cloudflare answered
  type: int
  sample: 429
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

import time

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.body import build_capture_request
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.spacing import Spaced
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.operations import (
    FAILED_STATUSES,
    UNKNOWN_STATUS,
    failure_message,
    predict_request,
    request_capture,
    still_waiting_message,
    unknown_status_message,
    wait_for_capture,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError, masked
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import WaitTimeout

try:
    from ansible.module_utils.datatag import deprecate_value
except ImportError:  # ansible-core before 2.19 cannot tag a value; RETURN and the changelog say it is deprecated
    deprecate_value = None

# A start further ahead is a mistake (a time in milliseconds, say), not a queue.
MAX_NOT_BEFORE_SECONDS = 24 * 3600

FILTER_OPTIONS = dict(
    source_address=dict(type='str'),
    destination_address=dict(type='str'),
    source_port=dict(type='int'),
    destination_port=dict(type='int'),
    protocol=dict(type='int'),
)

ARGUMENT_SPEC = dict(
    type=dict(type='str', choices=['simple', 'full'], default='simple'),
    system=dict(type='str', choices=['magic-transit'], default='magic-transit'),
    time_limit=dict(type='int', required=True),
    packet_limit=dict(type='int'),
    byte_limit=dict(type='int'),
    colo_name=dict(type='str'),
    destination_conf=dict(type='str', no_log=True),
    filter_v1=dict(type='dict', options=FILTER_OPTIONS),
    offset_time=dict(type='str'),
    not_before=dict(type='float'),
    spacing_file=dict(type='path'),
    spacing=dict(type='float', default=60.0),
    force=dict(type='bool', default=False),
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=600),
)


MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, requires_jsonschema=True, supports_check_mode=True,
                      # What each type needs; what each type does not take and the bounds are checked in _captures/body.py.
                      required_if=[['type', 'simple', ['packet_limit']], ['type', 'full', ['colo_name', 'destination_conf']]])


def main():
    module = PcapModule(**MODULE_OPTIONS)
    try:
        body = build_capture_request(module.params)
    except PcapValidationError as exc:
        module.fail_json(msg=str(exc))
    module.check_wait_timeout()
    check_not_before(module, module.params['not_before'])
    request = masked(body)
    try:
        if module.check_mode:
            capture, outcome, warnings = predict_request(module.client, body, force=module.params['force'])
        else:
            with Spaced(module.params['spacing_file'], module.params['not_before'], module.params['spacing']):
                capture, outcome, warnings = request_capture(module.client, body, force=module.params['force'])
    except CloudflareAPIError as exc:
        module.fail_api(exc, changed=False, request=request)
    for warning in warnings:
        module.warn(warning)
    if capture is None:  # check mode: a new capture would be requested
        module.exit_json(changed=True, request=request)
    result = dict(changed=outcome != 'reused', request=request, id=capture['id'])
    if module.params['wait'] and not module.check_mode:
        try:
            capture, elapsed = wait_for_capture(module.client, capture, module.params['wait_timeout'])
        except WaitTimeout as exc:
            module.fail_json(msg=still_waiting_message(capture['id'], exc) + '; it goes on, look again with capture_info',
                             status=exc.last.get('status'), elapsed=round(exc.elapsed, 1), **_capture_keys(exc.last), **result)
        except CloudflareAPIError as exc:
            module.fail_api(exc, status=capture.get('status'), **_capture_keys(capture), **result)
        result['elapsed'] = round(elapsed, 1)
    result.update(status=capture.get('status'), **_capture_keys(capture))
    if capture.get('status') in FAILED_STATUSES:
        module.fail_json(msg=failure_message(capture), **result)
    if module.params['wait'] and capture.get('status') == UNKNOWN_STATUS:
        module.fail_json(msg=unknown_status_message(capture), **result)
    module.exit_json(**result)


def check_not_before(module, not_before):
    """A start further ahead than a day is a mistake (a time in milliseconds, say), not a queue."""
    if not_before is not None and not_before - time.time() > MAX_NOT_BEFORE_SECONDS:
        module.fail_json(msg='not_before: %s is more than 24 hours ahead; nothing was requested' % not_before)


def _capture_keys(capture):
    """The capture under its name, `capture`, and under `pcap`, its deprecated name until 0.2.0."""
    shown = masked(capture)
    pcap = dict(shown)
    if deprecate_value is not None:
        pcap = deprecate_value(pcap, 'The pcap return value of cloudflare.pcap.capture_request is deprecated',
                               version='0.2.0', collection_name='cloudflare.pcap', help_text='Use capture instead.')
    return dict(capture=shown, pcap=pcap)


if __name__ == '__main__':
    main()
