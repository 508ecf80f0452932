# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A finished full capture, from its bucket to files on disk: every file of the capture fetched (_buckets/objects.py),
each described (packets), merged in timestamp order into one file beside them (_pcap/merge.py) and summarised
(_pcap/summary.py). Private to cloudflare.pcap.

It ties three resources together (the capture record, its bucket, the pcap files), which no resource may do, so it
sits in a layer of its own above them (tests/unit/test_layers.py).

Cloudflare's collect-pcaps guide: once the status is success, fetch the files from the bucket of destination_conf;
there may be several files named pcap_<id>.pcap (PR #5365), one per server the traffic crossed (PR #26482), which
its docs merge with mergecap. A capture can be empty: "the pcap might be empty because packets were dropped"
(PR #29160).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.cloudflare.pcap.plugins.module_utils._atomic_file import file_digests
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.objects import (
    BucketError,
    BucketLocation,
    bucket_client,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.files import DownloadError, check_writable_directory
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.merge import merge_captures
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import NotAPcap, inspect
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import (
    EMPTY_CAPTURE_REASONS,
    summarise,
    summary_of,
    tally,
    with_empty_reasons,
)

MERGED_SUFFIX = '-merged'


class FullCaptureError(Exception):
    """A full capture could not be turned into files; `files` holds what is on disk (saved and hashed) anyway."""

    def __init__(self, message, files=None, summary=None, damaged=False):
        super(FullCaptureError, self).__init__(message)
        self.files = files or []
        self.summary = summary
        self.damaged = damaged  # a file is no capture or is damaged


def merged_paths(dest_dir, capture_id):
    """The merged file's path for each format: libpcap when the files share one link type, else pcapng."""
    base = os.path.join(dest_dir, capture_id + MERGED_SUFFIX)
    return dict(pcap=base + '.pcap', pcapng=base + '.pcapng')


def check_dest_directory(dest_dir, check_mode):
    """Fail before anything is fetched when dest is no directory or cannot be written (check mode: from the
    permissions alone, as it writes nothing)."""
    if not os.path.isdir(dest_dir):
        raise FullCaptureError('dest: %s is not an existing directory; a full capture is several files, so dest must be '
                               'a directory' % dest_dir)
    try:
        check_writable_directory(os.path.join(dest_dir, 'probe'), probe=not check_mode)
    except DownloadError as exc:
        raise FullCaptureError(str(exc).replace('nothing was downloaded', 'nothing was fetched from the bucket'))


def download_full_capture(capture, dest_dir, bucket_options, mode, summary_top, check_mode=False, account_id=None):
    """Fetch, describe, merge and summarise the files of a finished full capture.

    bucket_options: endpoint_url, access_key_id, secret_access_key, session_token, profile (see bucket_client).
    Returns dict(changed, files, dest, checksum, size, format, packets, summary, bucket); in check mode files say
    which would be fetched (changed) and nothing is written. Raises FullCaptureError."""
    capture_id = capture['id']
    check_dest_directory(dest_dir, check_mode)
    try:
        location = BucketLocation(capture.get('destination_conf'), account_id)
        client = bucket_client(location, **bucket_options)
        listed = client.list_capture_objects(capture_id)
    except BucketError as exc:
        message = str(exc)
        if message.startswith('No file of capture'):
            message += '. A finished capture can hold nothing: %s' % '; '.join(EMPTY_CAPTURE_REASONS)
            raise FullCaptureError(message, summary=with_empty_reasons(summarise(())))
        raise FullCaptureError(message)
    try:
        fetched = client.fetch_objects(capture_id, listed, dest_dir, check_mode)
    except BucketError as exc:
        raise FullCaptureError(str(exc), files=_described(exc.files, check_mode, strict=False))
    paths = merged_paths(dest_dir, capture_id)
    if check_mode:
        existing = [path for path in paths.values() if os.path.isfile(path)]
        return dict(bucket=location.where(), files=_described(fetched['files'], check_mode, strict=True),
                    changed=fetched['changed'] or not existing, dest=existing[0] if existing else paths['pcap'])
    # One pass over the packets: the merge counts each file's packets and tallies the summary as it writes.
    files = [_entry(item) for item in fetched['files']]
    try:
        merged = _merge(capture_id, [item['dest'] for item in files], paths, mode)
    except FullCaptureError as exc:
        if exc.damaged:
            _described(fetched['files'], check_mode, strict=True)  # names every damaged file by its key
        exc.files = _described(fetched['files'], check_mode, strict=False)  # saved and hashed all the same
        raise
    for entry, described in zip(files, merged.pop('input_files')):
        entry.update(described)
    try:
        summary = summary_of(merged.pop('consumed'), summary_top)
    except NotAPcap as exc:
        raise FullCaptureError('Summarising %s failed: %s' % (merged['dest'], exc), files=files)
    return dict(merged, bucket=location.where(), files=files, summary=with_empty_reasons(summary),
                changed=fetched['changed'] or merged['changed'])


def _entry(item):
    return dict(key=item['key'], dest=item['dest'], size=item['size'], sha256=item['sha256'], changed=item['changed'])


def _described(files, check_mode, strict):
    """The per-file list: key, dest, size, sha256, format, packets (and changed). A file that is not a capture fails
    (strict) naming its key; after another failure (not strict) it is listed as it is."""
    described, damaged = [], []
    for item in files:
        entry = _entry(item)
        if os.path.isfile(item['dest']) and not (check_mode and item['changed']):
            try:
                entry['format'], entry['packets'] = inspect(item['dest'])
            except NotAPcap as exc:
                damaged.append('%s: it is not a pcap or pcapng file (%s)' % (item['key'], exc))
        described.append(entry)
    if damaged and strict:
        raise FullCaptureError('%d of %d files of the capture are damaged (they are saved and hashed as fetched): %s'
                               % (len(damaged), len(files), '; '.join(damaged)), files=described)
    return described


def _merge(capture_id, inputs, paths, mode):
    """Merge into a temporary name beside the result, then keep the result as it is when its content is the same
    (changed false on a re-run), else put the new one in place; a merged file of the other format goes."""
    scratch = paths['pcap'] + '.new'
    try:
        merged = merge_captures(inputs, scratch, mode, consume=tally)
    except (NotAPcap, OSError) as exc:
        _remove(scratch)
        raise FullCaptureError('Merging the files of capture %s failed: %s' % (capture_id, exc),
                               damaged=isinstance(exc, NotAPcap))
    dest = paths[merged['format']]
    changed = True
    try:
        if os.path.isfile(dest) and file_digests(dest)[1]['sha256'] == merged['checksum']:
            changed = False
            _remove(scratch)
            os.chmod(dest, mode)
        else:
            os.replace(scratch, dest)
        for other in paths.values():
            if other != dest and os.path.isfile(other):
                os.unlink(other)
                changed = True
    except OSError as exc:
        _remove(scratch)
        raise FullCaptureError('Putting the merged capture of %s in place at %s failed: %s' % (capture_id, dest, exc.strerror or exc))
    return dict(dest=dest, checksum=merged['checksum'], size=merged['size'], format=merged['format'],
                packets=merged['packets'], changed=changed, input_files=merged['input_files'], consumed=merged['consumed'])


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
