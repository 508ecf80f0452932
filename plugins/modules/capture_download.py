#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: capture_download
short_description: Download a Cloudflare packet capture, a simple one from the API or a full one from its bucket
version_added: 0.1.0
description:
  - Downloads the libpcap file of a finished C(simple) packet capture
    (C(GET /accounts/{account_id}/pcaps/{pcap_id}/download)) to O(dest) on the host that runs the module.
  - The file is streamed to a temporary file in the same directory and renamed into place only when it is
    complete and recognised as a pcap or pcapng file, so O(dest) never holds a partial download.
  - Like M(ansible.builtin.get_url), an existing O(dest) is kept unless O(force=true); nothing is downloaded then.
  - A C(full) capture is fetched from the bucket of its C(destination_conf) (the capture's record names it), through
    the S3 API with boto3 (C(pip install boto3)), from Amazon S3, Cloudflare R2 or Google Cloud Storage (its XML API
    with HMAC keys). Every object under the URI's directory, sub-folders included, whose file name contains
    C(pcap_<id>) is the capture's, as Cloudflare may write one file per server the traffic crossed. Each is saved
    below O(dest) (a directory) with its key's sub-folders, atomically, mode C(0600), with its SHA-256 (up to four
    objects are fetched at a time); then all are merged in timestamp order into C(<id>-merged.pcap) beside them
    (C(<id>-merged.pcapng) when their link types differ); the originals are kept. RV(summary) describes the merged
    capture, RV(files) each file; both are counted while the merged file is written, in one reading of the packets.
  - For a full capture, a file already in O(dest) with the size and content of its object is not fetched again, and
    a merged file of the same content is kept, so a re-run reports C(changed=false). O(force) does not apply.
  - An object that is gone or damaged between the listing and its download does not stop the others; they are
    saved and hashed, listed in RV(files), and the task fails naming the key. A capture with no file in the bucket
    fails saying where it looked (bucket masked, prefix) and why a capture can be empty.
  - A capture is ready when its status is V(success) or V(complete). A capture that Cloudflare reports as
    V(unknown) is neither ready nor in progress, and the task fails saying so (with O(wait=true), after three polls in
    a row).
  - Cloudflare keeps the first 160 bytes of each sampled packet, so most packets in the file are truncated.
  - Returns RV(summary), what is in the file at a glance (packets, bytes, time span, the busiest flows (ready for
    O(cloudflare.pcap.capture_request#module:filter_v1)), protocols and addresses), read from the headers that are
    there. It is computed when the file is checked, right after the download, and also for an existing O(dest)
    that is kept. M(cloudflare.pcap.capture_summary_info) returns the same for any local capture file.
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
      - Checks that the capture exists and is ready, and reports whether O(dest) would be written, without
        downloading. For a full capture it lists the bucket and reports in RV(files) which files would be fetched.
  diff_mode:
    support: none
options:
  id:
    description:
      - The id of the capture (32 hexadecimal characters).
    type: str
    required: true
  dest:
    description:
      - Where to write the file. If O(dest) is an existing directory (or ends with C(/)), the file is
        C(<id>.pcap) in it.
      - For a full capture, O(dest) must be an existing directory; the bucket's files and the merged file go in it.
      - The directory must exist, and the user running the module must be able to create files in it. Both are
        checked before anything is requested (in check mode from the permissions alone), and the task fails naming
        O(dest).
    type: path
    required: true
  force:
    description:
      - Download and replace O(dest) even if it exists.
    type: bool
    default: false
  mode:
    description:
      - Permissions of the written file, as an octal string such as V('0640'). For a full capture, of the merged
        file; the files from the bucket are always C(0600).
      - The default keeps the file private to its owner, because a capture holds customer traffic.
    type: raw
    default: '0600'
  wait:
    description:
      - Wait for the capture to finish before downloading, instead of failing when it is not ready yet.
    type: bool
    default: false
  summary_top:
    description:
      - How many flows, source addresses and destination addresses RV(summary) lists, the busiest first.
      - V(0) lists none; the counts and protocols are still there. It must be V(0) or more; it is checked before
        anything is sent.
    type: int
    default: 10
  bucket_endpoint_url:
    description:
      - Full captures only. The S3 API endpoint to use instead of the store's own, for an S3-compatible store or a
        test server, such as V(http://127.0.0.1:5000).
      - Without it, R2 is reached at C(https://<account-id>.r2.cloudflarestorage.com), GCS at
        C(https://storage.googleapis.com), and S3 as boto3 resolves it, so C(AWS_ENDPOINT_URL) and
        C(AWS_ENDPOINT_URL_S3) are honoured.
    type: str
  bucket_access_key_id:
    description:
      - Full captures only. The access key id to read the bucket with (for GCS, the HMAC access id).
      - Without it, the keys in an R2 C(destination_conf) are used, else boto3's credential chain (environment,
        O(bucket_profile), instance role).
    type: str
  bucket_secret_access_key:
    description:
      - Full captures only. The secret of O(bucket_access_key_id); both or neither.
    type: str
  bucket_session_token:
    description:
      - Full captures only. A session token that goes with temporary keys.
    type: str
  bucket_profile:
    description:
      - Full captures only. The AWS profile (from C(~/.aws/config)) whose credentials read the bucket.
    type: str
  wait_timeout:
    description:
      - How many seconds to wait when O(wait=true). It must be V(0) or more, also when O(wait=false); it is checked
        before anything is sent.
    type: int
    default: 600
'''

EXAMPLES = r'''
- name: Download a finished capture into the evidence directory
  cloudflare.pcap.capture_download:
    id: "{{ capture.id }}"
    dest: "{{ incident_dir }}/"
  register: download

- name: Wait for the capture, then download it to a chosen name
  cloudflare.pcap.capture_download:
    id: "{{ capture.id }}"
    dest: "{{ incident_dir }}/edge-443.pcap"
    wait: true
    wait_timeout: 900
    mode: '0640'

- name: Say what is on disk
  ansible.builtin.debug:
    msg: "{{ download.dest }}: {{ download.packets }} packets, {{ download.size }} bytes, sha256 {{ download.checksum }}"

- name: Name the busiest flow of the capture
  ansible.builtin.debug:
    msg: >-
      {{ download.summary.packets }} packets ({{ download.summary.truncated_packets }} truncated) in
      {{ download.summary.duration }} s; busiest flow {{ download.summary.flows[0].source_address }} ->
      {{ download.summary.flows[0].destination_address }}, {{ download.summary.flows[0].packets }} packets
  when: download.summary.flows | length > 0
'''

RETURN = r'''
dest:
  description: The path of the file; for a full capture, of the merged file.
  returned: success
  type: str
  sample: /srv/incidents/INC-1234/66802ca5668e47a2b82c2e6746e45037.pcap
size:
  description: Size of the file in bytes.
  returned: success, except in check mode when nothing is on disk yet
  type: int
  sample: 81234
checksum:
  description: SHA-256 of the file, in hexadecimal.
  returned: success, except in check mode when nothing is on disk yet
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
format:
  description: The file format recognised from its magic number, V(pcap) (libpcap) or V(pcapng).
  returned: success, except in check mode when nothing is on disk yet
  type: str
  sample: pcap
packets:
  description: The number of packets in the file.
  returned: success, except in check mode when nothing is on disk yet
  type: int
  sample: 500
summary:
  description:
    - What is in the file at a glance, with the keys C(packets), C(captured_bytes), C(wire_bytes),
      C(truncated_packets), C(undecoded_packets), C(first_packet), C(last_packet) (RFC 3339 UTC), C(duration)
      (seconds), C(flow_count), C(flows), C(protocols), C(sources), C(destinations) and C(unsupported_link_types).
    - Each of the O(summary_top) busiest C(flows) has C(source_address), C(destination_address), C(source_port),
      C(destination_port) (left out for protocols without ports), C(protocol) (the IP protocol number), C(packets),
      C(bytes) (original lengths on the wire), and C(filter_v1), the same addresses, ports and protocol alone, ready
      for O(cloudflare.pcap.capture_request#module:filter_v1).
    - When it counts no packet, C(empty_reasons) lists why a capture can be empty.
    - M(cloudflare.pcap.capture_summary_info) documents every key.
  returned: success, except in check mode when nothing is on disk yet
  type: dict
  sample:
    packets: 500
    captured_bytes: 80000
    wire_bytes: 372841
    truncated_packets: 468
    undecoded_packets: 0
    first_packet: '2026-11-27T08:00:00.103215Z'
    last_packet: '2026-11-27T08:00:59.881940Z'
    duration: 59.778725
    flow_count: 37
    flows:
      - source_address: 198.51.100.7
        destination_address: 203.0.113.10
        source_port: 51234
        destination_port: 443
        protocol: 6
        packets: 212
        bytes: 301888
        filter_v1: {source_address: 198.51.100.7, destination_address: 203.0.113.10, source_port: 51234,
                    destination_port: 443, protocol: 6}
    protocols:
      - {protocol: 6, packets: 431, bytes: 340120}
      - {protocol: 17, packets: 69, bytes: 32721}
    sources:
      - {address: 198.51.100.7, packets: 212, bytes: 301888}
    destinations:
      - {address: 203.0.113.10, packets: 500, bytes: 372841}
    unsupported_link_types: []
files:
  description:
    - Full captures only. Each file of the capture in the bucket, in key order.
    - C(key) (the object key), C(dest) (the local file), C(size) (bytes), C(sha256) (of the file on disk; V(null)
      in check mode for a file not fetched yet), C(changed) (fetched, or in check mode would be), C(format) and
      C(packets) (when the file is on disk).
    - On a failure, the files that were saved anyway.
  returned: success and failure, for a full capture, once its bucket was listed
  type: list
  elements: dict
  sample:
    - key: evidence/srv1/pcap_66802ca5668e47a2b82c2e6746e45037.pcap
      dest: /srv/incidents/INC-1234/srv1/pcap_66802ca5668e47a2b82c2e6746e45037.pcap
      size: 1048576
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      changed: true
      format: pcap
      packets: 812
bucket:
  description: Full captures only. Where the files were looked for, with any access keys masked.
  returned: success, for a full capture
  type: str
  sample: "S3 bucket s3://incident-pcaps/evidence?********, prefix 'evidence/'"
state:
  description: Whether O(dest) is a V(file) or still V(absent) (in check mode).
  returned: success
  type: str
  sample: file
mode:
  description: Permissions of the file, in octal.
  returned: success, when the file exists
  type: str
  sample: '0600'
owner:
  description: Owner of the file.
  returned: success, when the file exists
  type: str
  sample: incident
group:
  description: Group of the file.
  returned: success, when the file exists
  type: str
  sample: incident
uid:
  description: Numeric owner of the file.
  returned: success, when the file exists
  type: int
  sample: 1000
gid:
  description: Numeric group of the file.
  returned: success, when the file exists
  type: int
  sample: 1000
capture:
  description: The capture as Cloudflare returned it.
  returned: success, when the capture was looked up (not when O(dest) exists and O(force=false))
  type: dict
  sample:
    id: 66802ca5668e47a2b82c2e6746e45037
    status: success
    type: simple
    system: magic-transit
    time_limit: 60
elapsed:
  description: Seconds spent waiting for the capture to finish.
  returned: success, when O(wait=true) and the capture was looked up
  type: float
  sample: 42.5
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

import os

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.files import (
    DownloadError,
    check_writable_directory,
    describe_file,
    path_attributes,
    resolve_dest,
    save_atomically,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._full_capture import (
    FullCaptureError,
    check_dest_directory,
    download_full_capture,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import summary_warnings
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.operations import (
    FAILED_STATUSES,
    UNKNOWN_STATUS,
    download_capture,
    failure_message,
    get_capture,
    is_finished,
    still_waiting_message,
    unknown_status_message,
    wait_for_capture,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import masked
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import WaitTimeout

ARGUMENT_SPEC = dict(
    id=dict(type='str', required=True),
    dest=dict(type='path', required=True),
    force=dict(type='bool', default=False),
    mode=dict(type='raw', default='0600'),
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=600),
    summary_top=dict(type='int', default=10),
    bucket_endpoint_url=dict(type='str'),
    bucket_access_key_id=dict(type='str', no_log=True),
    bucket_secret_access_key=dict(type='str', no_log=True),
    bucket_session_token=dict(type='str', no_log=True),
    bucket_profile=dict(type='str'),
)


BUCKET_OPTIONS = ('endpoint_url', 'access_key_id', 'secret_access_key', 'session_token', 'profile')

MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    module.check_id('id')
    module.check_wait_timeout()
    params = module.params
    capture_id = params['id']
    if params['summary_top'] < 0:
        module.fail_json(msg='summary_top: must be 0 or more, got %d' % params['summary_top'])
    try:
        dest, mode = resolve_dest(params['dest'], capture_id, params['mode'])
    except DownloadError as exc:
        module.fail_json(msg=str(exc))

    if os.path.exists(dest) and not params['force']:
        try:
            described = describe_file(dest, params['summary_top'])
        except DownloadError as exc:
            module.fail_json(msg='dest: %s exists but %s; set force=true to replace it' % (dest, exc))
        _warn_about(module, described)
        module.exit_json(changed=False, **described)
    try:
        check_writable_directory(dest, probe=not module.check_mode)
    except DownloadError as exc:
        module.fail_json(msg=str(exc))

    result = dict(dest=dest)
    try:
        capture = get_capture(module.client, capture_id)
        full = capture.get('type') == 'full'
        if full:
            result = dict()
            try:
                check_dest_directory(params['dest'], module.check_mode)
            except FullCaptureError as exc:
                module.fail_json(msg=str(exc), capture=masked(capture))
        if params['wait']:
            capture, elapsed = wait_for_capture(module.client, capture, params['wait_timeout'])
            result['elapsed'] = round(elapsed, 1)
        result['capture'] = masked(capture)
        if capture.get('status') in FAILED_STATUSES:
            module.fail_json(msg=failure_message(capture), **result)
        if capture.get('status') == UNKNOWN_STATUS:
            module.fail_json(msg=unknown_status_message(capture), **result)
        if not is_finished(capture):
            module.fail_json(msg='Packet capture %s is %s, not ready for download; set wait=true to wait for it'
                                 % (capture_id, capture.get('status')), **result)
        if full:
            _download_full(module, capture, mode, result)
        if module.check_mode:
            # state=absent for a dest not there yet; for a file that is there, the same attributes as after a
            # download (add_path_info adds them to every result naming an existing dest).
            module.exit_json(changed=True, **dict(result, **path_attributes(dest)))
        saved = save_atomically(dest, mode, lambda write: download_capture(module.client, capture_id, write),
                                params['summary_top'])
    except WaitTimeout as exc:
        module.fail_json(msg=still_waiting_message(capture_id, exc), capture=masked(exc.last), **result)
    except CloudflareAPIError as exc:
        module.fail_api(exc, **result)
    except DownloadError as exc:
        module.fail_json(msg='Download of packet capture %s failed: %s' % (capture_id, exc), **result)
    result.update(saved)
    _warn_about(module, saved)
    module.exit_json(changed=True, **result)


def _download_full(module, capture, mode, result):
    """Every file of a finished full capture from its bucket into the dest directory, merged and summarised."""
    params = module.params
    bucket_options = dict((name, params['bucket_' + name]) for name in BUCKET_OPTIONS)
    try:
        result.update(download_full_capture(capture, params['dest'], bucket_options, mode, params['summary_top'],
                                            module.check_mode, account_id=params['account_id']))
    except FullCaptureError as exc:
        failed = dict(result, files=exc.files)
        if exc.summary is not None:
            failed['summary'] = exc.summary
        module.fail_json(msg='Download of full capture %s failed: %s' % (capture['id'], exc), **failed)
    if 'summary' in result:
        _warn_about(module, result)
    module.exit_json(**result)


def _warn_about(module, described):
    for warning in summary_warnings(described['summary']):
        module.warn(warning)


if __name__ == '__main__':
    main()
