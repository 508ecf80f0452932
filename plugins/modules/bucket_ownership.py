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
  - A bucket is identified by its O(destination_conf) without access keys (the R2 query parameters
    C(access-key-id) and C(secret-access-key)); the other query parameters (such as C(account-id) or C(region))
    count, in any order. Cloudflare may list an R2 bucket with or without the keys it was added with; either way
    it is the same bucket.
  - 'Registering a bucket takes two steps. When a bucket is added (O(state=present)), Cloudflare writes an
    ownership challenge file into it and returns that file''s name as RV(bucket.filename). Download the file and
    pass its contents as O(ownership_challenge), or its local path as O(ownership_challenge_file), with
    O(state=validated). Cloudflare then checks the challenge, which takes 5 to 10 minutes (the bucket is
    V(pending) meanwhile); O(wait=true) waits for it. Only a validated bucket (RV(bucket.status=success)) can
    receive full captures.'
  - The guide R(Buckets for full packet captures,ansible_collections.cloudflare.pcap.docsite.buckets) shows the
    whole flow as a playbook, including downloading the challenge file from an S3 or R2 bucket.
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
      - Reads the account's buckets and reports what would change; nothing is added, validated or deleted, and
        nothing is waited for. O(ownership_challenge_file) is still read.
  diff_mode:
    support: none
options:
  destination_conf:
    description:
      - The full URI of the bucket, for example V(s3://pcaps-bucket?region=us-east-1) or
        V(r2://pcaps-bucket?account-id=...&access-key-id=...&secret-access-key=...).
      - Adding a bucket sends it as given, keys included (Cloudflare needs them to write to an R2 bucket).
        Validating sends it without C(access-key-id) and C(secret-access-key), as Cloudflare's guide asks.
      - Use the same URI, keys included, for O(cloudflare.pcap.capture_request#module:destination_conf).
      - Treated as a secret (R2 and S3 URIs can carry access keys); results show only its scheme and bucket name.
    type: str
    required: true
  state:
    description:
      - V(present) adds the bucket if Cloudflare does not list it yet. A new bucket is pending until it is
        validated.
      - V(validated) makes sure the bucket is validated. A bucket that is not listed is added first. A bucket
        that is not validated yet (V(pending) or V(failed)) is validated with the challenge; a V(pending) bucket
        whose validation is already in progress is validated again, which Cloudflare allows. A bucket that
        Cloudflare reports as validated (V(success)) is left alone, and then no challenge is needed.
      - When the validation leaves the bucket V(pending), the task succeeds with RV(bucket.status=pending) unless
        O(wait=true). When Cloudflare reports the bucket V(failed), the task fails.
      - V(absent) deletes the bucket if Cloudflare lists it.
    type: str
    choices: [present, validated, absent]
    default: present
  ownership_challenge:
    description:
      - The contents of the ownership challenge file that Cloudflare wrote into the bucket when it was added, the
        file named by RV(bucket.filename). Surrounding whitespace and newlines are removed.
      - Used with O(state=validated), where it is required unless the bucket is validated already, or
        O(ownership_challenge_file) is given; ignored otherwise.
      - As the challenge file only exists once the bucket is added, add the bucket with O(state=present) first,
        download the file, then validate.
      - Mutually exclusive with O(ownership_challenge_file).
    type: str
  ownership_challenge_file:
    description:
      - The path of the downloaded ownership challenge file, on the host that runs the module (usually the
        controller, for example with C(delegate_to=localhost)). Its contents, without surrounding whitespace and
        newlines, are used as O(ownership_challenge).
      - Read with O(state=validated) only, before any request is sent, also in check mode; a file that is
        missing, unreadable, empty, larger than 64 KiB or not UTF-8 text fails the task.
      - Mutually exclusive with O(ownership_challenge).
    type: path
  wait:
    description:
      - With O(state=validated), when the validation leaves the bucket V(pending), wait until Cloudflare reports it
        validated (V(success)) or V(failed), by listing the buckets every 2 to 3 seconds (never more than 30
        requests a minute; once Cloudflare's C(Ratelimit) header says the credential's quota is down to the reserve
        left to its other users, the next request waits for the quota's reset).
      - The task fails when the bucket fails validation, or when it is still pending after O(wait_timeout).
      - Ignored with other states, in check mode, and when the bucket is validated already.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait when O(wait=true). Cloudflare takes 5 to 10 minutes to check a challenge.
        Retries of a poll end within this time too.
      - When they pass, the task fails and returns the bucket as it was last listed; the validation goes on at
        Cloudflare, so running the task again later finds the bucket validated.
      - Must be 0 or more, checked before any request.
    type: int
    default: 900
notes:
  - Cloudflare's bucket setup guide says to validate with the contents of the challenge file; its API reference
    and its Python SDK describe O(ownership_challenge) as the challenge file's name. This module follows the
    guide. If Cloudflare ever refuses the contents, try RV(bucket.filename) as O(ownership_challenge).
  - A refused validation (for example a wrong challenge) fails the task with Cloudflare's HTTP status; the bucket
    stays registered and pending, and the result still holds it. Cloudflare documents no error codes for the PCAP
    API, so do not rely on RV(error_codes).
  - Adding or validating a bucket is never retried. When the answer is lost, the module lists the buckets again
    to find out whether the request took effect.
seealso:
  - module: cloudflare.pcap.bucket_ownership_info
  - module: cloudflare.pcap.capture_request
  - name: PCAPs bucket setup
    description: Cloudflare's guide to adding and validating a bucket, with S3, GCS and R2.
    link: https://developers.cloudflare.com/cloudflare-network-firewall/packet-captures/pcaps-bucket-setup/
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

# pcap_challenge_file: where the challenge file was downloaded to, for example with amazon.aws.s3_object (see the
# guide "Buckets for full packet captures").
- name: Validate the bucket with the downloaded challenge file, and wait until Cloudflare has checked it
  cloudflare.pcap.bucket_ownership:
    api_token: "{{ cloudflare_api_token }}"
    account_id: "{{ cloudflare_account_id }}"
    destination_conf: "{{ pcap_bucket_uri }}"
    state: validated
    ownership_challenge_file: "{{ pcap_challenge_file }}"
    wait: true
    wait_timeout: 900
  when: pcap_challenge_file is defined

- name: Tell whether the bucket still needs validating (check mode reads only), credentials from the environment
  cloudflare.pcap.bucket_ownership:
    destination_conf: "{{ pcap_bucket_uri }}"
    state: validated
    # The contents of the challenge file; not needed once the bucket is validated
    ownership_challenge: "{{ pcap_ownership_challenge | default(omit) }}"
  check_mode: true
  register: pcap_validation

- name: Say what a validation would do
  ansible.builtin.debug:
    msg: "{{ 'The bucket would be validated' if pcap_validation is changed else 'The bucket is validated' }}"

- name: Remove the bucket
  cloudflare.pcap.bucket_ownership:
    destination_conf: "{{ pcap_bucket_uri }}"
    state: absent
'''

RETURN = r'''
bucket:
  description:
    - The bucket as Cloudflare last returned it, with O(destination_conf) masked (scheme and bucket name only).
    - With O(state=validated), the bucket after the validation, or after waiting for it with O(wait=true).
    - With O(state=absent), the bucket that was deleted (or would be, in check mode).
    - V(null) when there is no such bucket, and in check mode when the bucket would be added.
    - On failure, the bucket as far as it was known, for example the pending bucket when validation was refused,
      or the bucket as last listed when O(wait_timeout) ran out.
  returned: success, and failure after the options were accepted
  type: dict
  contains:
    id:
      description: The id of the bucket at Cloudflare.
      type: str
      sample: 9883874ecac311ec8475433579a6bf5f
    status:
      description:
        - The status of the ownership challenge, V(pending), V(success) (validated) or V(failed).
        - V(pending) after a validation while Cloudflare checks the challenge (5 to 10 minutes).
      type: str
      sample: pending
    filename:
      description:
        - The name of the ownership challenge file that Cloudflare wrote into the bucket. Download this file from
          the bucket; its contents are the O(ownership_challenge) to validate with.
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
  description: The HTTP status of Cloudflare's answer when a request failed, for example 400 for a refused validation.
  returned: failure, when Cloudflare answered
  type: int
  sample: 400
error_codes:
  description:
    - Cloudflare's error codes when a request failed.
    - Cloudflare documents no error codes for the PCAP API; key on RV(status_code) instead.
  returned: failure, when Cloudflare's answer listed errors
  type: list
  elements: int
  sample: [10000]
errors:
  description: Cloudflare's error list (code and message) when a request failed, as Cloudflare sent it.
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
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.ownership import (
    DEFAULT_WAIT_TIMEOUT,
    BucketOwnership,
    ValidationIncomplete,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError, masked

ARGUMENT_SPEC = dict(
    destination_conf=dict(type='str', required=True, no_log=True),
    state=dict(type='str', choices=['present', 'validated', 'absent'], default='present'),
    ownership_challenge=dict(type='str'),
    ownership_challenge_file=dict(type='path'),
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
)

# A challenge file holds a short token; anything larger is the wrong file.
MAX_CHALLENGE_BYTES = 65536

MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, requires_jsonschema=True, supports_check_mode=True,
                      mutually_exclusive=[['ownership_challenge', 'ownership_challenge_file']])


def read_challenge_file(module, path):
    """The challenge file's contents without surrounding whitespace; fails the task, naming the option, when the
    file cannot serve as one."""
    try:
        with open(path, 'rb') as challenge_file:
            data = challenge_file.read(MAX_CHALLENGE_BYTES + 1)
    except (IOError, OSError) as exc:
        module.fail_json(msg='ownership_challenge_file: cannot read %s (%s)' % (path, exc.strerror or exc))
    if len(data) > MAX_CHALLENGE_BYTES:
        module.fail_json(msg='ownership_challenge_file: %s is larger than 64 KiB, so it is not an ownership '
                             'challenge file' % path)
    try:
        text = data.decode('utf-8').strip()
    except UnicodeDecodeError:
        module.fail_json(msg='ownership_challenge_file: %s is not UTF-8 text, so it is not an ownership challenge '
                             'file' % path)
    if not text:
        module.fail_json(msg='ownership_challenge_file: %s is empty; download the challenge file from the bucket '
                             'again' % path)
    return text


def ownership_challenge(module):
    """The challenge from either option, checked before any request; None when neither is given."""
    params = module.params
    if params['state'] != 'validated':
        return None
    if params['ownership_challenge_file'] is not None:
        return read_challenge_file(module, params['ownership_challenge_file'])
    if params['ownership_challenge'] is not None:
        return params['ownership_challenge'].strip()
    return None


def main():
    module = PcapModule(**MODULE_OPTIONS)
    params = module.params
    module.check_wait_timeout()
    challenge = ownership_challenge(module)
    try:
        ownership = BucketOwnership(module.client, params['destination_conf'], module.check_mode)
    except PcapValidationError as exc:
        module.fail_json(msg=str(exc))

    try:
        if params['state'] == 'validated':
            ownership.validated(challenge, wait=params['wait'], wait_timeout=params['wait_timeout'])
        elif params['state'] == 'absent':
            ownership.absent()
        else:
            ownership.present()
    except (PcapValidationError, ValidationIncomplete) as exc:
        module.fail_json(msg=str(exc), changed=ownership.changed, bucket=masked(ownership.bucket))
    except CloudflareAPIError as exc:
        module.fail_api(exc, changed=ownership.changed, bucket=masked(ownership.bucket))
    module.exit_json(changed=ownership.changed, bucket=masked(ownership.bucket))


if __name__ == '__main__':
    main()
