# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The case folder and who runs the step: RUN_CONTEXT_KEYS in plugins/module_utils/_evidence/manifest.py.
    DOCUMENTATION = r'''
options:
  path:
    description:
      - The case folder of the capture, where its files, C(<capture_id>.manifest.json) and C(SHA256SUMS) are.
    type: path
    required: true
  capture_id:
    description:
      - The id of the capture the case folder holds; the manifest is C(<capture_id>.manifest.json).
    type: str
    required: true
  run_context:
    description:
      - Who runs this step, besides the user and host of the process that runs the module (recorded always).
      - AWX and Ansible Automation Platform pass C(awx_job_id), C(awx_job_template_name) and C(awx_user_name)
        (and the same as C(tower_*)) to every job as extra variables; pass them on, with C(| default(omit)).
      - The collection's rulebook passes the alert's correlation id and the event's uuid.
      - Empty values are left out of the record.
    type: dict
    default: {}
    suboptions:
      awx_job_id:
        description: The AWX job id.
        type: str
      awx_job_template_name:
        description: The AWX job template.
        type: str
      awx_user_name:
        description: The AWX user who launched the job.
        type: str
      tower_job_id:
        description: The same as O(run_context.awx_job_id), as older AWX versions name it.
        type: str
      tower_job_template_name:
        description: The same as O(run_context.awx_job_template_name), as older AWX versions name it.
        type: str
      tower_user_name:
        description: The same as O(run_context.awx_user_name), as older AWX versions name it.
        type: str
      rulebook_correlation_id:
        description: The correlation id of the alert that started the run (Event-Driven Ansible).
        type: str
      rulebook_event_uuid:
        description: The uuid of the event that started the run (Event-Driven Ansible).
        type: str
notes:
  - The custody record holds the capture id, type and account; the request as sent and Cloudflare's record of the
    capture, their C(destination_conf) masked to scheme and bucket; every recorded file with its size, SHA-256 and
    SHA-1; the versions of cloudflare.pcap and ansible-core; and a custody log of handling steps, each with an
    RFC 3339 UTC time and who ran it. Both files are written atomically with mode C(0600).
  - C(SHA256SUMS) lists every recorded file and the manifest in the format C(sha256sum -c SHA256SUMS) reads, run
    inside the case folder.
'''
