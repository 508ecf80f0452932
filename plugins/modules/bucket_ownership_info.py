#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: bucket_ownership_info
short_description: List the buckets registered for Cloudflare full packet captures
version_added: 0.1.0
description:
  - Lists the buckets of the account that full packet captures can be written to, with their ownership challenge
    status (C(GET /accounts/{account_id}/pcaps/ownership)).
  - With O(destination_conf), returns only the bucket registered for that URI, compared without access keys as
    M(cloudflare.pcap.bucket_ownership) does.
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.common
  - cloudflare.pcap.attributes
  - cloudflare.pcap.attributes.actiongroup_all
  - cloudflare.pcap.attributes.info_module
options:
  destination_conf:
    description:
      - Return only the bucket registered for this URI, for example V(s3://pcaps-bucket?region=us-east-1).
      - The URI is compared without the R2 access keys (query parameters C(access-key-id) and
        C(secret-access-key)), which Cloudflare may or may not list; the other query parameters count, in any
        order.
      - Treated as a secret (R2 and S3 URIs can carry access keys); results show only its scheme and bucket name.
    type: str
seealso:
  - module: cloudflare.pcap.bucket_ownership
  - name: PCAPs bucket setup
    description: Cloudflare's guide to adding and validating a bucket, with S3, GCS and R2.
    link: https://developers.cloudflare.com/cloudflare-network-firewall/packet-captures/pcaps-bucket-setup/
'''

EXAMPLES = r'''
- name: List the buckets for full captures
  cloudflare.pcap.bucket_ownership_info:
    api_token: "{{ cloudflare_api_token }}"
    account_id: "{{ cloudflare_account_id }}"
  register: pcap_buckets

- name: Show the validated ones
  ansible.builtin.debug:
    msg: "{{ pcap_buckets.buckets | selectattr('status', 'equalto', 'success') | map(attribute='destination_conf') }}"

- name: Look up one bucket, credentials from CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID
  cloudflare.pcap.bucket_ownership_info:
    destination_conf: "{{ pcap_bucket_uri }}"
  register: pcap_bucket

- name: Fail unless the bucket is registered
  ansible.builtin.assert:
    that:
      - pcap_bucket.buckets | length == 1

- name: Say whether it can receive full captures yet
  ansible.builtin.debug:
    msg: "{{ 'validated' if pcap_bucket.buckets[0].status == 'success' else 'not validated yet: ' ~ pcap_bucket.buckets[0].status }}"
'''

RETURN = r'''
buckets:
  description:
    - The buckets Cloudflare lists for the account, oldest first as Cloudflare returns them, each with its
      C(destination_conf) masked (scheme and bucket name only).
    - With O(destination_conf), only the bucket registered for that URI.
    - An empty list when there are none.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The id of the bucket at Cloudflare.
      type: str
      sample: 9883874ecac311ec8475433579a6bf5f
    status:
      description:
        - The status of the ownership challenge, V(pending), V(success) (validated) or V(failed).
        - V(pending) also while Cloudflare checks a challenge after validation, which takes 5 to 10 minutes.
      type: str
      sample: success
    filename:
      description: The name of the ownership challenge file that Cloudflare placed in the bucket.
      type: str
      sample: ownership-challenge-9883874ecac311ec8475433579a6bf5f.txt
    destination_conf:
      description: The bucket URI with everything after the bucket name masked.
      type: str
      sample: s3://pcaps-bucket?********
    submitted:
      description: When the bucket was added (RFC 3339).
      type: str
      sample: '2026-11-27T08:00:00Z'
    validated:
      description: When the bucket was validated (RFC 3339), once it is.
      type: str
      sample: '2026-11-27T08:05:00Z'
  sample:
    - id: 9883874ecac311ec8475433579a6bf5f
      status: success
      filename: ownership-challenge-9883874ecac311ec8475433579a6bf5f.txt
      destination_conf: s3://pcaps-bucket?********
      submitted: '2026-11-27T08:00:00Z'
      validated: '2026-11-27T08:05:00Z'
status_code:
  description: The HTTP status of Cloudflare's answer when the request failed.
  returned: failure, when Cloudflare answered
  type: int
  sample: 403
error_codes:
  description:
    - Cloudflare's error codes when the request failed.
    - Cloudflare documents no error codes for the PCAP API; key on RV(status_code) instead.
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
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.ownership import find_bucket, list_buckets, masked_buckets

ARGUMENT_SPEC = dict(
    destination_conf=dict(type='str', no_log=True),
)


MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    try:
        buckets = list_buckets(module.client)
    except CloudflareAPIError as exc:
        module.fail_api(exc, changed=False)
    wanted = module.params['destination_conf']
    if wanted is not None:
        bucket = find_bucket(buckets, wanted)
        buckets = [] if bucket is None else [bucket]
    module.exit_json(changed=False, buckets=masked_buckets(buckets))


if __name__ == '__main__':
    main()
