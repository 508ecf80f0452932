#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: bucket_ownership
short_description: Register, validate or remove a bucket for Cloudflare full packet captures
version_added: 0.1.0
description:
  - Manages a bucket that full packet captures (C(type=full) in M(cloudflare.pcap.capture_request)) are written to,
    with Cloudflare's PCAP bucket ownership API (C(/accounts/{account_id}/pcaps/ownership)).
  - A bucket is identified by its O(destination_conf), compared as an exact string with the buckets Cloudflare
    lists for the account.
  - 'Registering a bucket is a two-step process: when a bucket is added (O(state=present)), Cloudflare places an
    ownership challenge file in it and returns that file''s name as RV(bucket.filename). Find the file in the
    bucket and pass what it holds as O(ownership_challenge) with O(state=validated). Only a validated bucket
    (RV(bucket.status=success)) can receive full captures.'
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
      - Reads the account's buckets and reports what would change; nothing is added, validated or deleted.
  diff_mode:
    support: none
options:
  destination_conf:
    description:
      - The full URI of the bucket, for example V(s3://pcaps-bucket?region=us-east-1) or
        V(r2://pcaps-bucket?account-id=...&access-key-id=...&secret-access-key=...).
      - Use exactly the same string as for O(cloudflare.pcap.capture_request#module:destination_conf).
      - Treated as a secret (R2 and S3 URIs can carry access keys); results show only its scheme and bucket name.
    type: str
    required: true
  state:
    description:
      - V(present) adds the bucket if Cloudflare does not list it yet. A new bucket is pending until it is
        validated.
      - V(validated) makes sure Cloudflare reports the bucket as validated. A bucket that is not listed is added
        first, then validated with O(ownership_challenge); a bucket that is already validated is left alone.
      - V(absent) deletes the bucket if Cloudflare lists it.
    type: str
    choices: [present, validated, absent]
    default: present
  ownership_challenge:
    description:
      - The ownership challenge found in the bucket, in the file named by RV(bucket.filename) that Cloudflare put
        there when the bucket was added.
      - Required with O(state=validated) unless the bucket is validated already; ignored otherwise.
      - As the challenge file only exists once the bucket is added, add the bucket with O(state=present) first,
        read the file, then validate.
    type: str
notes:
  - Cloudflare's bucket setup guide says to validate with the contents of the challenge file, while its API
    reference describes O(ownership_challenge) as the challenge file's name. If Cloudflare refuses the contents,
    try RV(bucket.filename).
  - A failed validation (wrong or expired challenge) fails the task with Cloudflare's status and error codes; the
    bucket stays registered and pending, and the result still holds it.
  - Adding or validating a bucket is never retried. When the answer is lost, the module lists the buckets again
    to find out whether the request took effect.
seealso:
  - module: cloudflare.pcap.bucket_ownership_info
  - module: cloudflare.pcap.capture_request
  - name: Set up a bucket for packet captures
    description: Cloudflare's guide to adding and validating a bucket.
    link: https://developers.cloudflare.com/magic-firewall/how-to/pcaps-bucket-setup/
'''

EXAMPLES = r'''
- name: Add the bucket for full captures
  cloudflare.pcap.bucket_ownership:
    api_token: "{{ cloudflare_api_token }}"
    account_id: "{{ cloudflare_account_id }}"
    destination_conf: "{{ pcap_bucket_uri }}"
  register: pcap_bucket

- name: Tell where the ownership challenge is
  ansible.builtin.debug:
    msg: "Cloudflare wrote {{ pcap_bucket.bucket.filename }} into the bucket; its status is {{ pcap_bucket.bucket.status }}"

- name: Validate the bucket with the challenge read from it
  cloudflare.pcap.bucket_ownership:
    api_token: "{{ cloudflare_api_token }}"
    account_id: "{{ cloudflare_account_id }}"
    destination_conf: "{{ pcap_bucket_uri }}"
    state: validated
    ownership_challenge: "{{ pcap_ownership_challenge }}"

- name: Make sure the bucket is validated, credentials from CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID
  cloudflare.pcap.bucket_ownership:
    destination_conf: s3://pcaps-bucket?region=us-east-1
    state: validated
    ownership_challenge: "{{ pcap_ownership_challenge | default(omit) }}"

- name: Remove the bucket
  cloudflare.pcap.bucket_ownership:
    destination_conf: "{{ pcap_bucket_uri }}"
    state: absent
'''

RETURN = r'''
bucket:
  description:
    - The bucket as Cloudflare last returned it, with O(destination_conf) masked (scheme and bucket name only).
    - With O(state=absent), the bucket that was deleted (or would be, in check mode).
    - V(null) when there is no such bucket, and in check mode when the bucket would be added.
    - On failure, the bucket as far as it was known, for example the pending bucket when validation failed.
  returned: success, and failure after the options were accepted
  type: dict
  contains:
    id:
      description: The id of the bucket at Cloudflare.
      type: str
      sample: 9883874ecac311ec8475433579a6bf5f
    status:
      description: The status of the ownership challenge, V(pending), V(success) (validated) or V(failed).
      type: str
      sample: pending
    filename:
      description:
        - The name of the ownership challenge file that Cloudflare placed in the bucket. Look for this file in the
          bucket; what it holds is the O(ownership_challenge) to validate with.
      type: str
      sample: ownership-challenge-9883874ecac311ec8475433579a6bf5f.txt
    destination_conf:
      description: The bucket URI with everything after the bucket name masked.
      type: str
      sample: r2://pcaps-bucket?********
    submitted:
      description: When the bucket was added (RFC 3339).
      type: str
      sample: '2026-11-27T08:00:00Z'
    validated:
      description: When the bucket was validated (RFC 3339), once it is.
      type: str
      sample: '2026-11-27T08:05:00Z'
  sample:
    id: 9883874ecac311ec8475433579a6bf5f
    status: pending
    filename: ownership-challenge-9883874ecac311ec8475433579a6bf5f.txt
    destination_conf: s3://pcaps-bucket?********
    submitted: '2026-11-27T08:00:00Z'
status_code:
  description: The HTTP status of Cloudflare's answer when a request failed.
  returned: failure, when Cloudflare answered
  type: int
  sample: 400
error_codes:
  description: Cloudflare's error codes when a request failed.
  returned: failure, when Cloudflare's answer listed errors
  type: list
  elements: int
  sample: [1012]
errors:
  description: Cloudflare's error list (code and message) when a request failed.
  returned: failure, when Cloudflare's answer listed errors
  type: list
  elements: dict
  sample:
    - code: 1012
      message: Ownership challenge does not match
retry_after:
  description: Seconds Cloudflare asked to wait before the next attempt (C(Retry-After)), when it said so.
  returned: failure, when Cloudflare sent Retry-After
  type: int
  sample: 42
'''

from ansible_collections.cloudflare.pcap.plugins.module_utils._client import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule
from ansible_collections.cloudflare.pcap.plugins.module_utils._ownership import BucketOwnership
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError, masked

ARGUMENT_SPEC = dict(
    destination_conf=dict(type='str', required=True, no_log=True),
    state=dict(type='str', choices=['present', 'validated', 'absent'], default='present'),
    ownership_challenge=dict(type='str'),
)


MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, requires_jsonschema=True, supports_check_mode=True)


def run(module):
    """The module's work, given a PcapModule or the action plugin's in-process stand-in."""
    params = module.params
    try:
        ownership = BucketOwnership(module.client, params['destination_conf'], module.check_mode)
    except PcapValidationError as exc:
        module.fail_json(msg=str(exc))

    try:
        if params['state'] == 'validated':
            ownership.validated(params['ownership_challenge'])
        elif params['state'] == 'absent':
            ownership.absent()
        else:
            ownership.present()
    except PcapValidationError as exc:
        module.fail_json(msg=str(exc), changed=ownership.changed, bucket=masked(ownership.bucket))
    except CloudflareAPIError as exc:
        module.fail_api(exc, changed=ownership.changed, bucket=masked(ownership.bucket))
    module.exit_json(changed=ownership.changed, bucket=masked(ownership.bucket))


def main():
    run(PcapModule(**MODULE_OPTIONS))


if __name__ == '__main__':
    main()
