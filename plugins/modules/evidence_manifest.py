#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: evidence_manifest
short_description: Write or extend the custody record of a capture's case folder
version_added: 0.1.0
description:
  - Writes C(<capture_id>.manifest.json) and C(SHA256SUMS) in the case folder of a capture, or extends them. Each
    run appends its O(steps) to the custody log and records the O(files) not recorded yet.
  - Before anything is written, every file already recorded is hashed again. A file whose size or SHA-256 changed,
    or that is gone, fails the task with its name, and nothing is written; a recorded hash is never replaced.
  - A manifest written by an older version of the collection is not overwritten; it is kept as
    C(<capture_id>.manifest.v<version>.json) (and recorded as a file) beside the new one. A manifest of a newer
    version fails the task and is left as it is.
  - It calls Cloudflare for nothing and needs no credentials. It takes none of the connection options and is not in
    the action group C(group/cloudflare.pcap.all).
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.attributes
  - cloudflare.pcap.evidence
attributes:
  check_mode:
    support: full
    details:
      - Checks the recorded files and reports what would be written, writing nothing.
  diff_mode:
    support: none
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change.
    support: partial
    details:
      - A run with O(steps) always appends them to the log (a step happened again). Without O(steps), a second run
        with the same O(files) changes nothing.
  platform:
    support: full
    details:
      - Reads and writes files on the host that runs the module. Run it on the controller (with C(delegate_to)
        V(localhost)) so that the user and host recorded are the controller's.
    platforms: posix
options:
  steps:
    description:
      - Handling steps to append to the custody log, in order.
    type: list
    elements: dict
    default: []
    suboptions:
      step:
        description: What was done.
        type: str
        required: true
        choices: [requested, finished, downloaded, merged, summarised, copied, verified]
      at:
        description:
          - When, as an RFC 3339 time with a zone (for example Cloudflare's C(submitted)); recorded in UTC.
          - Defaults to the time the module runs.
        type: str
      note:
        description: A short free text kept with the step.
        type: str
  files:
    description:
      - Files of the case folder to record, as paths relative to O(path) (sub-folders with C(/)). Recorded ones are
        checked, not recorded again.
      - The manifest and C(SHA256SUMS) are written by the module and cannot be listed.
    type: list
    elements: str
    default: []
  capture:
    description:
      - Cloudflare's record of the capture (RV(cloudflare.pcap.capture_info#module:capture)), kept as
        C(cloudflare_record); its C(destination_conf) is masked. Replaces the one recorded before.
    type: dict
  request:
    description:
      - The request body that was sent (RV(cloudflare.pcap.capture_request#module:request)); its C(destination_conf)
        is masked.
    type: dict
  capture_type:
    description:
      - The capture's type, C(simple) or C(full); defaults to the C(type) of O(capture).
    type: str
  account_id:
    description:
      - The Cloudflare account of the capture.
      - If not set, the environment variable E(CLOUDFLARE_ACCOUNT_ID) is used.
    type: str
seealso:
  - module: cloudflare.pcap.evidence_verify_info
    description: Checks a case folder against its manifest.
  - module: cloudflare.pcap.evidence_copy
    description: Copies the case folder to an evidence bucket and records the objects.
'''

EXAMPLES = r'''
- name: Record the case of a finished capture
  cloudflare.pcap.evidence_manifest:
    path: "{{ incident_dir }}"
    capture_id: "{{ capture.id }}"
    capture: "{{ capture }}"
    request: "{{ requested.request }}"
    steps:
      - {step: requested, at: "{{ capture.submitted }}"}
      - step: finished
      - step: downloaded
      - step: summarised
    files:
      - "{{ capture.id }}.pcap"
      - "{{ capture.id }}.summary.json"
      - "{{ capture.id }}.summary.md"
    run_context:
      awx_job_id: "{{ awx_job_id | default(omit) }}"
      awx_job_template_name: "{{ awx_job_template_name | default(omit) }}"
      awx_user_name: "{{ awx_user_name | default(omit) }}"
      tower_job_id: "{{ tower_job_id | default(omit) }}"
      tower_job_template_name: "{{ tower_job_template_name | default(omit) }}"
      tower_user_name: "{{ tower_user_name | default(omit) }}"
  delegate_to: localhost
'''

RETURN = r'''
manifest_path:
  description: The manifest, C(<capture_id>.manifest.json) in O(path).
  returned: always
  type: str
  sample: /srv/incidents/INC-7/0123456789abcdef0123456789abcdef.manifest.json
sums_path:
  description: The C(SHA256SUMS) file in O(path).
  returned: always
  type: str
  sample: /srv/incidents/INC-7/SHA256SUMS
manifest:
  description:
    - The custody record as written (as it would be written, in check mode).
    - Keys C(manifest_version), C(capture) (C(id), C(type), C(account_id)), C(request), C(cloudflare_record),
      C(files) (C(name), C(size), C(sha256), C(sha1), C(recorded_at)), C(tools), C(custody_log) (C(step), C(at),
      C(by), C(note)), C(copies), C(copy_failures), C(updated_at).
  returned: success
  type: dict
  sample:
    manifest_version: 1
    capture: {id: 0123456789abcdef0123456789abcdef, type: full, account_id: 023e105f4ecef8ad9ca31a8372d0c353}
    files:
      - {name: 0123456789abcdef0123456789abcdef.pcap, size: 81234, sha1: 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12,
         sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,
         recorded_at: '2026-12-05T13:52:10.120511Z'}
    tools: {cloudflare.pcap: 0.1.0, ansible-core: 2.19.4}
    custody_log:
      - step: downloaded
        at: '2026-12-05T13:52:10.120511Z'
        by: {user: soc, host: controller.example.com, awx_job_id: '42'}
added_files:
  description: The files recorded by this run.
  returned: success
  type: list
  elements: str
  sample: [0123456789abcdef0123456789abcdef.summary.md]
previous_version:
  description:
    - The format version of an older manifest that this run kept beside the new one; V(null) when there was none.
  returned: success
  type: int
  sample: null
changed_files:
  description: Recorded files whose size or SHA-256 changed, when the task fails because of them.
  returned: when the case folder does not match its record
  type: list
  elements: str
  sample: [0123456789abcdef0123456789abcdef.pcap]
missing_files:
  description: Recorded files that are gone, when the task fails because of them.
  returned: when the case folder does not match its record
  type: list
  elements: str
  sample: []
'''

import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.manifest import (
    RUN_CONTEXT_SPEC,
    STEPS,
    SUMS_NAME,
    EvidenceError,
    manifest_name,
    update_manifest,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule

ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    capture_id=dict(type='str', required=True),
    run_context=RUN_CONTEXT_SPEC,
    steps=dict(type='list', elements='dict', default=[], options=dict(
        step=dict(type='str', required=True, choices=list(STEPS)),
        at=dict(type='str'),
        note=dict(type='str'),
    )),
    files=dict(type='list', elements='str', default=[]),
    capture=dict(type='dict'),
    request=dict(type='dict'),
    capture_type=dict(type='str'),
    account_id=dict(type='str', fallback=(env_fallback, ['CLOUDFLARE_ACCOUNT_ID'])),
)

# connection=False: none of the collection's connection options, no credentials.
MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, connection=False)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    params = module.params
    paths = dict(manifest_path=os.path.join(params['path'], manifest_name(params['capture_id'])),
                 sums_path=os.path.join(params['path'], SUMS_NAME))
    try:
        result = update_manifest(params['path'], params['capture_id'], steps=params['steps'], files=params['files'],
                                 capture=params['capture'], request=params['request'], capture_type=params['capture_type'],
                                 account_id=params['account_id'], run_context=params['run_context'],
                                 check_mode=module.check_mode)
    except EvidenceError as exc:
        module.fail_json(msg=str(exc), changed_files=exc.changed, missing_files=exc.missing, **paths)
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot write the custody record in %s: %s' % (params['path'], exc.strerror or exc), **paths)
    module.exit_json(changed=result['changed'], manifest=result['manifest'], added_files=result['added_files'],
                     previous_version=result['previous_version'], **paths)


if __name__ == '__main__':
    main()
