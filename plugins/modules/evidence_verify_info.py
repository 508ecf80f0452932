#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: evidence_verify_info
short_description: Check a capture's case folder against its custody record
version_added: 0.1.0
description:
  - Hashes every file that C(<capture_id>.manifest.json) records and compares size and SHA-256; checks the manifest
    against its line in C(SHA256SUMS), and C(SHA256SUMS) against the manifest.
  - Reports every changed and every missing file by name, and lists files of the folder that nothing records.
  - The same folder can be checked without Ansible, inside it, with C(sha256sum -c SHA256SUMS).
  - It calls Cloudflare for nothing and needs no credentials. It takes none of the connection options and is not in
    the action group C(group/cloudflare.pcap.all).
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.attributes
  - cloudflare.pcap.attributes.info_module
attributes:
  platform:
    support: full
    details:
      - Reads files on the host that runs the module.
    platforms: posix
options:
  path:
    description:
      - The case folder.
    type: path
    required: true
  capture_id:
    description:
      - The capture whose manifest, C(<capture_id>.manifest.json), to check.
      - Defaults to the only manifest in O(path); with none or several, the task fails and asks for it.
    type: str
  fail_on_mismatch:
    description:
      - Fail the task when a file changed or is missing, naming them. With V(false), report RV(verified) and the
        lists and succeed.
    type: bool
    default: true
seealso:
  - module: cloudflare.pcap.evidence_manifest
    description: Writes the custody record this module checks.
'''

EXAMPLES = r'''
- name: Check the case folder before handing it over
  cloudflare.pcap.evidence_verify_info:
    path: "{{ incident_dir }}"
    capture_id: "{{ capture.id }}"
  delegate_to: localhost

- name: Report, without failing
  cloudflare.pcap.evidence_verify_info:
    path: "{{ incident_dir }}"
    fail_on_mismatch: false
  register: check

- name: Say what differs
  ansible.builtin.debug:
    msg: "changed: {{ check.changed_files }}, missing: {{ check.missing_files }}"
  when: not check.verified
'''

RETURN = r'''
capture_id:
  description: The capture whose manifest was checked.
  returned: success
  type: str
  sample: 0123456789abcdef0123456789abcdef
verified:
  description: Whether every recorded file, the manifest and C(SHA256SUMS) are there and unchanged.
  returned: always
  type: bool
  sample: true
changed_files:
  description:
    - Files whose size or SHA-256 differs from the record, by name; the manifest when it differs from its line in
      C(SHA256SUMS) (or cannot be read), and C(SHA256SUMS) when its lines differ from the manifest.
  returned: always
  type: list
  elements: str
  sample: [0123456789abcdef0123456789abcdef.summary.json]
missing_files:
  description: Recorded files that are gone, the manifest and C(SHA256SUMS) included.
  returned: always
  type: list
  elements: str
  sample: []
unrecorded_files:
  description: Files in O(path) (sub-folders included, hidden files not) that the record does not name.
  returned: success
  type: list
  elements: str
  sample: [notes.txt]
checked:
  description: How many recorded files were checked.
  returned: success
  type: int
  sample: 4
manifest:
  description:
    - The manifest as read (see RV(cloudflare.pcap.evidence_manifest#module:manifest)); V(null) when it is missing or
      cannot be read.
  returned: success
  type: dict
  sample: {manifest_version: 1, capture: {id: 0123456789abcdef0123456789abcdef}}
'''

from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.manifest import EvidenceError, verify_folder
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule

ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    capture_id=dict(type='str'),
    fail_on_mismatch=dict(type='bool', default=True),
)

# connection=False: none of the collection's connection options, no credentials.
MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, connection=False)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    params = module.params
    try:
        state = verify_folder(params['path'], params['capture_id'])
    except EvidenceError as exc:
        module.fail_json(msg=str(exc), verified=False, changed_files=[], missing_files=[])
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot read %s: %s' % (params['path'], exc.strerror or exc), verified=False,
                         changed_files=[], missing_files=[])
    result = dict(changed=False, capture_id=state['capture_id'], verified=state['verified'],
                  changed_files=state['changed'], missing_files=state['missing'], unrecorded_files=state['unrecorded'],
                  checked=state['checked'], manifest=state['manifest'])
    if not state['verified'] and params['fail_on_mismatch']:
        parts = []
        if state['changed']:
            parts.append('changed: %s' % ', '.join(state['changed']))
        if state['missing']:
            parts.append('missing: %s' % ', '.join(state['missing']))
        module.fail_json(msg='The case folder %s does not match the custody record of capture %s; %s'
                             % (params['path'], state['capture_id'], '; '.join(parts)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
