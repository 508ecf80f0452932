# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Copying a case folder's files to an evidence bucket (S3, R2 or GCS through boto3), so that the evidence outlives
the job that collected it. Private to cloudflare.pcap.

The bucket is a URI in the style of destination_conf (objects.py says how each store is reached and how the
credentials are chosen); the objects go under ``<URI's directory>/<capture id>/``. Each object is sent with its
SHA-256 (``ChecksumSHA256``): the store computes its own and refuses the object when they differ, so a file that
changed since it was hashed, or was damaged on the way, is never stored as that file. The answer's checksum is
compared too. Nothing sets a retention: in a bucket with Object Lock, each object gets the bucket's default
retention (S3 applies it to every new object version). An object already there with the same SHA-256 is left as it
is, so a re-run sends only what is missing.

An upload that fails does not stop the others; each failure is reported for its object, and only objects the store
accepted are returned as copied. Messages name the bucket masked (scheme, bucket, directory), never keys.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import os

from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.objects import (
    BotoCoreError,
    BucketError,
    BucketLocation,
    ClientError,
    bucket_client,
)

# What to grant for a copy, by store (named in a refusal).
PUT_PERMISSIONS = {'s3': 's3:PutObject', 'r2': 'Object Read & Write (s3:PutObject)', 'gs': 'storage.objects.create'}
# S3 takes up to 5 GiB in one PUT; larger evidence would need a multipart upload, which this copy does not do.
SINGLE_PUT_LIMIT = 5 * 1024 ** 3


def evidence_client(uri, account_id=None, **credentials):
    """The BucketClient for an evidence bucket URI; credentials as for objects.bucket_client."""
    return bucket_client(BucketLocation(uri, account_id), **credentials)


def case_prefix(location, capture_id):
    return '%s%s/' % (location.prefix, capture_id)


def object_key(location, capture_id, name):
    return case_prefix(location, capture_id) + name


def copy_files(client, capture_id, files, check_mode=False):
    """Upload each file, a dict(name, path, sha256), under <prefix>/<capture id>/<name>. Returns
    dict(copied=[...], failed=[...], changed): copied holds name, key, uri (masked), sha256, version_id and
    changed (False when the object was there with that SHA-256); failed holds name, key and error."""
    copied, failed = [], []
    for item in files:
        key = object_key(client.location, capture_id, item['name'])
        try:
            copied.append(_copy_one(client, key, item, check_mode))
        except BucketError as exc:
            failed.append(dict(name=item['name'], key=key, error=str(exc)))
    return dict(copied=copied, failed=failed, changed=any(entry['changed'] for entry in copied))


def _copy_one(client, key, item, check_mode):
    location = client.location
    checksum = base64.b64encode(bytes.fromhex(item['sha256'])).decode('ascii')
    result = dict(name=item['name'], key=key, uri='%s://%s/%s' % (location.scheme, location.bucket, key),
                  sha256=item['sha256'], version_id=None, changed=True)
    stored = _stored_checksum(client, key)
    if stored == checksum:
        result['changed'] = False
        return result
    if check_mode:
        return result
    size = os.path.getsize(item['path'])
    if size > SINGLE_PUT_LIMIT:
        raise BucketError('%s: %d bytes, more than the 5 GiB one upload can hold; copy it with a multipart tool' % (key, size))
    try:
        with open(item['path'], 'rb') as handle:
            body = HashingReader(handle)
            # ChecksumAlgorithm too: S3 wants the algorithm named for an Object Lock bucket (and so does moto).
            answer = client.client.put_object(Bucket=location.bucket, Key=key, Body=body, ChecksumAlgorithm='SHA256',
                                              ChecksumSHA256=checksum, ContentLength=size)
            sent = body.sha256()
    except (IOError, OSError) as exc:
        raise BucketError('%s: cannot read %s: %s' % (key, item['path'], exc.strerror or exc)) from None
    except (BotoCoreError, ClientError) as exc:
        code = exc.response.get('Error', {}).get('Code') if isinstance(exc, ClientError) else None
        if code == 'BadDigest' or (code == 'InvalidRequest' and 'checksum' in str(exc).lower()):
            raise BucketError('%s: the store computed another SHA-256 than the recorded one: the file changed since it '
                              'was hashed, or was damaged on the way; not copied' % key) from None
        raise BucketError('%s: %s' % (key, client.failure(exc, 'Uploading the object', PUT_PERMISSIONS[location.scheme]))) from None
    returned = answer.get('ChecksumSHA256')
    if (returned and returned != checksum) or sent != item['sha256']:
        # A store that does not check the checksum (some S3-compatible ones) kept other bytes than the recorded
        # ones: take that object away again, and never call it copied.
        removed = _remove_version(client, key, answer.get('VersionId'))
        raise BucketError('%s: the bytes sent are not the recorded file (it changed since it was hashed); not copied%s'
                          % (key, '' if removed else ', and the stored object could not be removed: delete it by hand'))
    result['version_id'] = answer.get('VersionId')
    return result


class HashingReader:
    """A file opened for an upload that hashes what is read from it, from the start: botocore may read the body
    more than once (payload signing, retries), seeking back to the start each time; the last full pass counts."""

    def __init__(self, handle):
        self._handle = handle
        self._digest = hashlib.sha256()
        self._hashed = 0

    def read(self, size=-1):
        start = self._handle.tell()
        data = self._handle.read(size)
        if start == self._hashed:
            self._digest.update(data)
            self._hashed += len(data)
        return data

    def seek(self, offset, whence=0):
        position = self._handle.seek(offset, whence)
        if position == 0:
            self._digest = hashlib.sha256()
            self._hashed = 0
        return position

    def tell(self):
        return self._handle.tell()

    def sha256(self):
        """The SHA-256 of what was read in the last pass from the start to the end of the file."""
        remaining = self._handle.read(1)
        return self._digest.hexdigest() if not remaining and self._hashed == self._handle.tell() else None


def _remove_version(client, key, version_id):
    request = dict(Bucket=client.location.bucket, Key=key)
    if version_id:
        request['VersionId'] = version_id
    try:
        client.client.delete_object(**request)
    except (BotoCoreError, ClientError):
        return False
    return True


def _stored_checksum(client, key):
    """The SHA-256 (base64) the store keeps for an existing object, or None when there is none or it has none."""
    try:
        head = client.client.head_object(Bucket=client.location.bucket, Key=key, ChecksumMode='ENABLED')
    except ClientError as exc:
        error = exc.response.get('Error', {}).get('Code')
        status = exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
        # Not there; or credentials that may write but not read (a common evidence-bucket grant): upload it.
        if error in ('404', 'NoSuchKey', 'NotFound', '403', 'AccessDenied') or status in (403, 404):
            return None
        raise BucketError('%s: %s' % (key, client.failure(exc, 'Reading the object', client.location.store.get_permission))) from None
    except BotoCoreError as exc:
        raise BucketError('%s: %s' % (key, client.failure(exc, 'Reading the object', client.location.store.get_permission))) from None
    return head.get('ChecksumSHA256')


def object_lock_retention(client, key, version_id=None):
    """(mode, retain until) of a stored object version, as the store reports them; (None, None) without retention."""
    request = dict(Bucket=client.location.bucket, Key=key)
    if version_id:
        request['VersionId'] = version_id
    try:
        head = client.client.head_object(**request)
    except (BotoCoreError, ClientError) as exc:
        raise BucketError(client.failure(exc, 'Reading the object', client.location.store.get_permission)) from None
    return head.get('ObjectLockMode'), head.get('ObjectLockRetainUntilDate')
