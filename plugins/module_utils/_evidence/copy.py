# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Copying a case folder to an evidence bucket and recording it in the custody record. Private to cloudflare.pcap.

Order, so that the bucket ends up with a manifest that names every object: the folder is verified against its
manifest first (a changed or missing file stops the copy before anything is sent); then each recorded file is
uploaded (_buckets/evidence.py); the manifest gets the keys of the objects the store accepted, the failures with
their reason, and a "copied" step; last, the manifest and SHA256SUMS themselves are uploaded. A failure there is
recorded too. An object the store did not accept is never recorded as copied.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.evidence import case_prefix, copy_files
from ansible_collections.cloudflare.pcap.plugins.module_utils._evidence.manifest import (
    SUMS_NAME,
    EvidenceError,
    hash_file,
    manifest_name,
    update_manifest,
    utc_now,
    verify_folder,
)


def copy_case(folder, capture_id, client, run_context=None, check_mode=False, now=None):
    """Copy the case folder of capture_id with the BucketClient. Returns dict(changed, prefix, copied, failed), the
    lists as copy_files gives them. Raises EvidenceError when the folder does not match its manifest."""
    state = verify_folder(folder, capture_id)
    if not state['verified']:
        raise EvidenceError('Not copied: the case folder does not match its custody record; changed: %s; missing: %s'
                            % (', '.join(state['changed']) or 'none', ', '.join(state['missing']) or 'none'),
                            state['changed'], state['missing'])
    now = now or utc_now()
    location = client.location
    prefix = '%s://%s/%s' % (location.scheme, location.bucket, case_prefix(location, capture_id))
    files = [dict(name=entry['name'], path=os.path.join(folder, *entry['name'].split('/')), sha256=entry['sha256'])
             for entry in state['manifest']['files']]
    copied = copy_files(client, capture_id, files, check_mode)
    if check_mode:
        return dict(changed=copied['changed'] or bool(copied['failed']), prefix=prefix, copied=copied['copied'],
                    failed=copied['failed'])
    if copied['changed'] or copied['failed']:
        copies = [dict(name=entry['name'], key=entry['key'], uri=entry['uri'], sha256=entry['sha256'],
                       version_id=entry['version_id'], at=now) for entry in copied['copied']]
        failures = [dict(failure, at=now) for failure in copied['failed']]
        update_manifest(folder, capture_id, steps=['copied'], copies=copies, copy_failures=failures,
                        run_context=run_context, now=now)
    # The record itself, in its final state; SHA256SUMS after the manifest it lists.
    record = [dict(name=name, path=os.path.join(folder, name), sha256=hash_file(folder, name)['sha256'])
              for name in (manifest_name(capture_id), SUMS_NAME)]
    tail = copy_files(client, capture_id, record)
    if tail['failed']:
        update_manifest(folder, capture_id, copy_failures=[dict(failure, at=now) for failure in tail['failed']], now=now)
    return dict(changed=copied['changed'] or bool(copied['failed']) or tail['changed'] or bool(tail['failed']),
                prefix=prefix, copied=copied['copied'] + tail['copied'], failed=copied['failed'] + tail['failed'])
