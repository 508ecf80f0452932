#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: evidence_copy
short_description: Copy a capture's case folder to an evidence bucket (S3, R2 or GCS) and record it
version_added: 0.1.0
description:
  - Copies every file the custody record of the capture names, then the manifest and C(SHA256SUMS), to the
    O(bucket) under C(<directory of the URI>/<capture_id>/), so that the evidence outlives the job (an AWX
    execution environment is thrown away when the job ends).
  - The case folder is checked against its manifest first; a changed or missing file fails the task before
    anything is sent.
  - Each object is sent with its SHA-256 (C(ChecksumSHA256)), which Amazon S3 checks against what it received;
    the module also hashes the bytes as they are sent, and takes away an object whose bytes differ from the
    recorded file. Objects already in the bucket with the same SHA-256 are not sent again.
  - In a bucket with Object Lock, the objects get the bucket's default retention; the module sets none itself.
  - The manifest records the key, SHA-256 and version id of every object the store accepted, the objects that
    were not copied and why, and a C(copied) step in the custody log. An object the store did not accept is never
    recorded as copied; when any object fails, the task fails and RV(failed_objects) names each.
  - Access keys never appear in the result, a message or the manifest.
  - It takes none of the Cloudflare connection options and is not in the action group C(group/cloudflare.pcap.all).
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.attributes
  - cloudflare.pcap.evidence
attributes:
  check_mode:
    support: full
    details:
      - Checks the folder and which objects are already in the bucket (needs read access for that); sends and
        writes nothing.
  diff_mode:
    support: none
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: full
  platform:
    support: full
    details:
      - Reads the case folder on the host that runs the module and needs C(boto3) there.
    platforms: posix
requirements:
  - boto3
options:
  bucket:
    description:
      - The evidence bucket as a URI in the style of C(destination_conf) of
        M(cloudflare.pcap.capture_request), one of
        V(s3://<bucket>[/<directory>]?region=<region>),
        V(r2://<bucket>[/<directory>]?account-id=<id>&access-key-id=<key>&secret-access-key=<secret>) or
        V(gs://<bucket>[/<directory>]) (Google's S3-compatible XML API with HMAC keys).
      - Keys in the URI are used when O(access_key_id) is not given; the URI is shown masked everywhere.
    type: str
    required: true
  account_id:
    description:
      - The Cloudflare account, for the R2 endpoint when the C(r2://) URI has no C(account-id).
      - If not set, the environment variable E(CLOUDFLARE_ACCOUNT_ID) is used.
    type: str
  endpoint_url:
    description:
      - An S3 endpoint to use instead of the store's own (an S3-compatible store, a test server).
    type: str
  access_key_id:
    description:
      - The access key id for the bucket; with O(secret_access_key). Otherwise the URI's keys, else boto3's
        credential chain (environment, profile, instance role).
      - The credentials need C(s3:PutObject) (R2 C(Object Read & Write)); C(s3:GetObject) as well lets a re-run skip
        objects already copied.
    type: str
  secret_access_key:
    description:
      - The secret for O(access_key_id).
    type: str
  session_token:
    description:
      - A session token for temporary credentials.
    type: str
  profile:
    description:
      - A boto3 profile to take the credentials from.
    type: str
seealso:
  - module: cloudflare.pcap.evidence_manifest
    description: Writes the custody record whose files this module copies.
  - module: cloudflare.pcap.evidence_verify_info
    description: Checks a case folder, for example after fetching it back from the bucket.
'''

EXAMPLES = r'''
- name: Keep the evidence out of the AWX job
  cloudflare.pcap.evidence_copy:
    path: "{{ incident_dir }}"
    capture_id: "{{ capture.id }}"
    bucket: s3://soc-evidence/pcaps?region=eu-west-1
    run_context:
      awx_job_id: "{{ awx_job_id | default(omit) }}"
      awx_user_name: "{{ awx_user_name | default(omit) }}"
  delegate_to: localhost
  register: copy

- name: Where it is
  ansible.builtin.debug:
    msg: "{{ copy.copied | length }} objects in {{ copy.bucket_name }} under {{ copy.key_prefix }}"
'''

RETURN = r'''
bucket_name:
  description: The bucket the objects are in.
  returned: when the bucket could be reached
  type: str
  sample: soc-evidence
key_prefix:
  description:
    - The keys' common prefix, C(<directory of the URI>/<capture_id>/).
    - The bucket and prefix are returned apart, not as a URI, because Ansible masks the O(bucket) value (it may hold
      keys) wherever it appears in a result.
  returned: when the bucket could be reached
  type: str
  sample: pcaps/0123456789abcdef0123456789abcdef/
copied:
  description:
    - The objects in the bucket, the manifest and C(SHA256SUMS) last; C(changed) is V(false) for one that was
      already there with the same SHA-256 (in check mode, V(true) for one that would be sent).
  returned: when the bucket could be reached
  type: list
  elements: dict
  sample:
    - name: 0123456789abcdef0123456789abcdef.pcap
      key: pcaps/0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef.pcap
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      version_id: null
      changed: true
failed_objects:
  description: The objects that were not copied, each with C(name), C(key) and C(error).
  returned: when the bucket could be reached
  type: list
  elements: dict
  sample:
    - name: 0123456789abcdef0123456789abcdef.pcap
      key: pcaps/0123456789abcdef0123456789abcdef/0123456789abcdef0123456789abcdef.pcap
      error: "... access denied (HTTP 403 AccessDenied): the credentials need s3:PutObject"
changed_files:
  description: Recorded files whose size or SHA-256 changed, when the task fails because of them.
  returned: when the case folder does not match its record
  type: list
  elements: str
  sample: []
missing_files:
  description: Recorded files that are gone, when the task fails because of them.
  returned: when the case folder does not match its record
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.evidence import case_prefix, evidence_client
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.objects import BOTO3_IMPORT_ERROR, BucketError
from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.copy import copy_case
from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.manifest import RUN_CONTEXT_SPEC, EvidenceError
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule

ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    capture_id=dict(type='str', required=True),
    run_context=RUN_CONTEXT_SPEC,
    # no_log: an r2:// URI carries the secret access key in its query.
    bucket=dict(type='str', required=True, no_log=True),
    account_id=dict(type='str', fallback=(env_fallback, ['CLOUDFLARE_ACCOUNT_ID'])),
    endpoint_url=dict(type='str'),
    access_key_id=dict(type='str', no_log=False),
    secret_access_key=dict(type='str', no_log=True),
    session_token=dict(type='str', no_log=True),
    profile=dict(type='str'),
)

# connection=False: none of the Cloudflare connection options.
MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, connection=False,
                      required_together=[['access_key_id', 'secret_access_key']])


def main():
    module = PcapModule(**MODULE_OPTIONS)
    params = module.params
    if BOTO3_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('boto3'), exception=BOTO3_IMPORT_ERROR)
    try:
        client = evidence_client(params['bucket'], params['account_id'], endpoint_url=params['endpoint_url'],
                                 access_key_id=params['access_key_id'], secret_access_key=params['secret_access_key'],
                                 session_token=params['session_token'], profile=params['profile'])
        result = copy_case(params['path'], params['capture_id'], client, run_context=params['run_context'],
                           check_mode=module.check_mode)
    except BucketError as exc:
        module.fail_json(msg='bucket: %s' % exc)
    except EvidenceError as exc:
        module.fail_json(msg=str(exc), changed_files=exc.changed, missing_files=exc.missing)
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot read or write the case folder %s: %s' % (params['path'], exc.strerror or exc))
    # Without the URI form: Ansible masks the bucket option's value wherever it appears in the result.
    outcome = dict(changed=result['changed'], bucket_name=client.location.bucket,
                   key_prefix=case_prefix(client.location, params['capture_id']),
                   copied=[dict((key, value) for key, value in entry.items() if key != 'uri') for entry in result['copied']],
                   failed_objects=result['failed'])
    if result['failed']:
        module.fail_json(msg='%d object(s) of capture %s were not copied to %s (the manifest says which and why): %s'
                             % (len(result['failed']), params['capture_id'], client.location.where(),
                                '; '.join(entry['error'] for entry in result['failed'])), **outcome)
    module.exit_json(**outcome)


if __name__ == '__main__':
    main()
