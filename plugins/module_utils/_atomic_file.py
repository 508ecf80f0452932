# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing a file so that it is never seen half-written nor readable by others, hashing it on the way, and hashing
a file on disk. Below every resource, so that bucket downloads (_buckets/objects.py) and capture files (_pcap/) can
share it. Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import tempfile

CHUNK_SIZE = 1024 * 1024


def write_atomically(dest, mode, fill, check=None):
    """Let fill(write) stream the content into a temporary file beside dest (created with `mode`, so never
    readable by others), then rename it over dest. Returns (size, SHA-256 hex digest, replaced).

    check(temporary_path, size, sha256), when given, runs on the complete temporary file before the rename: it may
    raise to refuse the content, or return False to keep dest as it is (replaced is then False). Whatever happens,
    dest is either untouched or the complete new content, and no temporary file is left behind.
    """
    directory = os.path.dirname(os.path.abspath(dest))
    handle, temporary = tempfile.mkstemp(prefix='.%s.' % os.path.basename(dest), suffix='.part', dir=directory)
    replaced = False
    try:
        os.fchmod(handle, mode)
        digest = hashlib.sha256()
        sizes = []

        def write(chunk):
            digest.update(chunk)
            sizes.append(len(chunk))
            output.write(chunk)

        with os.fdopen(handle, 'wb') as output:
            fill(write)
            output.flush()
            os.fsync(output.fileno())
        size, sha256 = sum(sizes), digest.hexdigest()
        if check is None or check(temporary, size, sha256) is not False:
            os.replace(temporary, dest)
            replaced = True
        return size, sha256, replaced
    finally:
        if not replaced and os.path.exists(temporary):
            os.unlink(temporary)


def file_digests(path, algorithms=('sha256',)):
    """(size, {algorithm: hex digest}) of a file on disk, read once. MD5 (what S3 ETags hold) is marked as not
    used for security, so that it works on FIPS systems."""
    digests = dict((name, hashlib.new(name, usedforsecurity=False) if name == 'md5' else hashlib.new(name)) for name in algorithms)
    size = 0
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b''):
            for digest in digests.values():
                digest.update(chunk)
            size += len(chunk)
    return size, dict((name, digest.hexdigest()) for name, digest in digests.items())
