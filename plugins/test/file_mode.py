# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
name: file_mode
short_description: Whether a value is a file mode that capture_download accepts
version_added: 0.1.0
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
description:
  - True for the values that O(cloudflare.pcap.capture_download#module:mode) accepts, checked by the same code as
    the module, false for any other value.
  - An octal string of three or four digits, with or without a leading V(0), such as V('0600') or V('640'); or an
    integer from V(0) to V(4095), which is what YAML makes of an unquoted V(0640).
  - Use it to refuse a mode before a capture is requested, as the role C(cloudflare.pcap.incident_capture) does;
    Cloudflare allows one simple capture a minute, and a capture that cannot be saved is lost.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Refuse a file mode that the download would refuse, before requesting anything
  ansible.builtin.assert:
    that: evidence_file_mode is cloudflare.pcap.file_mode
    fail_msg: "evidence_file_mode: must be an octal string such as '0600', got {{ evidence_file_mode | to_json }}"
'''

RETURN = r'''
_value:
  description: Whether the value is a file mode that capture_download accepts.
  type: boolean
'''

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.files import DownloadError, parse_mode


def file_mode(value):
    try:
        parse_mode(value)
    except DownloadError:
        return False
    return True


class TestModule:
    def tests(self):
        return {'file_mode': file_mode}
