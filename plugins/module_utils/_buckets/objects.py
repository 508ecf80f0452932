# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The files of a full capture in its bucket: finding them and fetching them, through boto3. Private to
cloudflare.pcap.

Which files. Cloudflare writes a full capture into the bucket of its destination_conf as "multiple files named
pcap_<pcap_id>.pcap ... as captures can occur across multiple machines" (cloudflare-docs PR #5365), one per server
the traffic crossed (PR #26482). No source says how files with the same name are kept apart (sub-folders,
suffixes), so every object under the URI's directory, sub-folders included, whose file name (the part of the key
after its last /) contains ``pcap_<id>`` not followed by a letter or digit is the capture's: ``pcap_<id>.pcap``,
``pcap_<id>_2.pcap`` and ``srv7/pcap_<id>.pcap`` are, ``pcap_<id>0.pcap`` and ``pcap_<id>x.pcap`` (another id,
or a longer name) are not. The id is compared without regard to case (it is hexadecimal).

Which store, and how it is reached (destination_conf forms: docs/docsite/rst/buckets.rst, Cloudflare's bucket
setup guide):

- ``r2://<bucket>[/<dir>]?account-id=<id>&access-key-id=<key>&secret-access-key=<secret>``: Cloudflare R2 at
  ``https://<account-id>.r2.cloudflarestorage.com`` (the account id from the URI, else the capture's account),
  region ``auto``. The keys come from the URI (Cloudflare writes with them, so they can read); explicit keys win,
  and a URI without keys (as Cloudflare echoes it) falls back to boto3's credential chain.
- ``s3://<bucket>[/<dir>]?region=<region>``: Amazon S3 in the URI's region; credentials from explicit values,
  else boto3's chain (environment, profile, instance role); the endpoint as boto3 resolves it, so
  ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` are honoured.
- ``gs://<bucket>[/<dir>]``: Google Cloud Storage through its XML API, which Google documents as interoperable with
  the Amazon S3 SDKs given HMAC keys, at ``https://storage.googleapis.com``, region ``auto``; the HMAC access id
  and secret are the access key and secret (explicit, or the chain's ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY``). Chosen over "fetch them with gcloud" because it needs no second SDK and takes the
  same tested path as S3 and R2; it is not tested against Google itself.

An explicit endpoint_url replaces the store's endpoint (S3-compatible stores, tests). Access keys never appear in
a message, a result or a repr: messages name the bucket through mask_destination_conf().
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import MASK
from ansible_collections.cloudflare.pcap.plugins.module_utils._atomic_file import CHUNK_SIZE, file_digests, write_atomically
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import mask_destination_conf

BOTO3_IMPORT_ERROR = None
try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    BOTO3_IMPORT_ERROR = traceback.format_exc()
    BotoCoreError = ClientError = ()
HAS_BOTO3 = BOTO3_IMPORT_ERROR is None
BOTO3_MISSING = 'boto3 is needed to read a full capture from its bucket: pip install boto3'

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
# Objects fetched side by side: a fetch mostly waits on the network and the disk (fsync), and a boto3 client may be
# shared between threads (boto3's guide, "Multithreading or multiprocessing with clients"). Four keep a store busy
# without opening more connections than botocore's pool holds (max_pool_connections, 10 by default).
FETCH_WORKERS = 4
_ETAG_MD5 = re.compile(r'^"?([0-9a-fA-F]{32})"?$')


class BucketError(Exception):
    """Every failure of finding or fetching a capture's files, as one line without access keys. `files` holds the
    files that were saved (or found unchanged) before the failure."""

    def __init__(self, message, files=None):
        super(BucketError, self).__init__(message)
        self.files = files or []


class Store:
    """What differs between S3, R2 and GCS: the name, the endpoint, and the permissions to name on a refusal."""

    def __init__(self, name, list_permission, get_permission, endpoint=None, region=None):
        self.name = name
        self.list_permission = list_permission
        self.get_permission = get_permission
        self.endpoint = endpoint
        self.region = region


STORES = {
    's3': Store('S3', 's3:ListBucket', 's3:GetObject'),
    # R2 API tokens grant "Object Read" (or "Object Read & Write") on a bucket; that covers listing and reading.
    'r2': Store('R2', 'Object Read (s3:ListBucket)', 'Object Read (s3:GetObject)',
                endpoint='https://%s.r2.cloudflarestorage.com', region='auto'),
    'gs': Store('GCS', 'storage.objects.list', 'storage.objects.get',
                endpoint='https://storage.googleapis.com', region='auto'),
}


class BucketLocation:
    """Where a capture's files are: store, bucket, prefix (the URI's directory, '' or ending in /), region, and how
    to reach it. Its repr and messages show the bucket masked, never the access keys it may hold."""

    def __init__(self, destination_conf, account_id=None):
        if not isinstance(destination_conf, str) or not destination_conf.strip():
            raise BucketError('destination_conf: must be the bucket URI of the capture')
        self.masked = mask_destination_conf(destination_conf.strip())
        parts = urlsplit(destination_conf.strip())
        self.scheme = parts.scheme.lower()
        if self.scheme not in STORES:
            raise BucketError('destination_conf: %s is not an s3://, r2:// or gs:// bucket URI' % self.masked)
        self.store = STORES[self.scheme]
        self.bucket = parts.netloc.rsplit('@', 1)[-1]
        if not self.bucket:
            raise BucketError('destination_conf: %s names no bucket' % self.masked)
        directory = unquote(parts.path).strip('/')
        self.prefix = directory + '/' if directory else ''
        # Values are decoded with unquote, not as form data: a secret key may hold a literal '+'.
        query = {}
        for parameter in parts.query.split('&'):
            name, _equals, value = parameter.partition('=')
            if name:
                query[unquote(name).strip().lower()] = unquote(value)
        self.region = query.get('region') or self.store.region
        self._uri_keys = (query.get('access-key-id'), query.get('secret-access-key'))
        self.account_id = query.get('account-id') or account_id
        self.endpoint = self.store.endpoint
        if self.scheme == 'r2':
            self.endpoint = self.endpoint % self.account_id if self.account_id else None

    def __repr__(self):
        return 'BucketLocation(%s, prefix=%r)' % (self.masked, self.prefix)

    def uri_keys(self):
        """(access key id, secret) from the URI's query, None for each that is missing."""
        return self._uri_keys

    def where(self):
        """The bucket (masked) and the prefix, for messages."""
        return '%s bucket %s, prefix %r' % (self.store.name, self.masked, self.prefix)

    def local_path(self, dest_dir, key):
        """The file for an object: its key below the prefix, sub-folders kept, under dest_dir."""
        parts = key[len(self.prefix):].split('/')
        if any(part in ('', '.', '..') for part in parts):
            raise BucketError('%s: the object key %r cannot be a file name below dest' % (self.where(), key))
        return os.path.join(dest_dir, *parts)


def capture_file_pattern(capture_id):
    """The rule for a file name of this capture: contains pcap_<id>, the id not followed by a letter or digit."""
    return re.compile(r'pcap_%s(?![0-9A-Za-z])' % re.escape(capture_id), re.IGNORECASE)


def is_capture_file(key, capture_id):
    name = key.rsplit('/', 1)[-1]
    return bool(name) and bool(capture_file_pattern(capture_id).search(name))


def bucket_client(location, endpoint_url=None, access_key_id=None, secret_access_key=None, session_token=None, profile=None):
    """A boto3 S3 client for the location. Explicit keys win over the URI's keys, which win over boto3's chain."""
    if not HAS_BOTO3:
        raise BucketError(BOTO3_MISSING)
    if bool(access_key_id) != bool(secret_access_key):
        raise BucketError('access_key_id and secret_access_key: give both or neither')
    if not access_key_id and all(location.uri_keys()):
        access_key_id, secret_access_key = location.uri_keys()
    secrets = [value for value in (access_key_id, secret_access_key, session_token) if value]
    endpoint = endpoint_url or location.endpoint
    if location.scheme == 'r2' and not endpoint:
        raise BucketError('%s: no account-id in the URI and no account id given, so the R2 endpoint is unknown' % location.where())
    options = dict(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, retries={'max_attempts': 3, 'mode': 'standard'})
    if endpoint:
        # Path-style requests work with every S3-compatible store and with an address such as 127.0.0.1.
        options['s3'] = {'addressing_style': 'path'}
    if location.scheme != 's3' and 'request_checksum_calculation' in Config.OPTION_DEFAULTS:
        # botocore 1.36+ adds CRC checksums by default, which stores other than S3 may not know.
        options.update(request_checksum_calculation='when_required', response_checksum_validation='when_required')
    try:
        session = boto3.session.Session(profile_name=profile, aws_access_key_id=access_key_id or None,
                                        aws_secret_access_key=secret_access_key or None, aws_session_token=session_token or None)
        client = session.client('s3', region_name=location.region, endpoint_url=endpoint or None, config=Config(**options))
    except BotoCoreError as exc:
        raise BucketError('%s: cannot set up the S3 client: %s' % (location.where(), _scrub(exc, secrets))) from None
    return BucketClient(client, location, secrets)


class BucketClient:
    """The boto3 client with the location it reads and the secrets to keep out of messages."""

    def __init__(self, client, location, secrets):
        self.client = client
        self.location = location
        self._secrets = secrets

    def __repr__(self):
        return 'BucketClient(%r)' % (self.location,)

    def failure(self, exc, doing, permission):
        """One line for a boto3 exception: what was done where, and what to check."""
        status, code = None, type(exc).__name__
        if isinstance(exc, ClientError):
            error = exc.response.get('Error', {})
            code = error.get('Code') or code
            status = exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
        if code in ('InvalidAccessKeyId', 'SignatureDoesNotMatch'):
            hint = 'the access key is not accepted (%s): check the key id and secret' % code
        elif code == 'NoSuchBucket':
            hint = 'the bucket does not exist (NoSuchBucket)'
        elif status == 403 or code in ('AccessDenied', 'AllAccessDisabled'):
            hint = 'access denied (HTTP 403 %s): the credentials need %s' % (code, permission)
        elif code == 'NoCredentialsError':
            hint = 'no credentials: none in the URI, none given, and none found by boto3 (environment, profile, instance role)'
        else:
            hint = '%s%s' % ('HTTP %s ' % status if status else '', _scrub(exc, self._secrets))
        return '%s failed for %s: %s' % (doing, self.location.where(), hint)

    def list_capture_objects(self, capture_id, page_size=None):
        """The capture's objects under the prefix, sub-folders included, as dicts with key, size and etag, sorted by
        key. Raises BucketError when the listing fails or nothing matches."""
        found, listed = [], 0
        pagination = {'PageSize': page_size} if page_size else {}
        try:
            pages = self.client.get_paginator('list_objects_v2').paginate(
                Bucket=self.location.bucket, Prefix=self.location.prefix, PaginationConfig=pagination)
            for page in pages:
                for item in page.get('Contents', ()):
                    listed += 1
                    if is_capture_file(item['Key'], capture_id):
                        found.append(dict(key=item['Key'], size=item['Size'], etag=item.get('ETag')))
        except (BotoCoreError, ClientError) as exc:
            raise BucketError(self.failure(exc, 'Listing the bucket', self.location.store.list_permission)) from None
        if not found:
            raise BucketError('No file of capture %s (a name containing pcap_%s) in %s, sub-folders included: %d object(s) '
                              'listed, none of them this capture\'s' % (capture_id, capture_id, self.location.where(), listed))
        return sorted(found, key=lambda item: item['key'])

    def fetch_object(self, item, dest_dir, check_mode=False):
        """Save one listed object below dest_dir, atomically and with mode 0600, unless a file of the same size and
        content is there. Returns key, dest, size, sha256 and changed (in check mode: whether it would be fetched;
        sha256 is then None for a file not on disk yet)."""
        key, size = item['key'], item['size']
        dest = self.location.local_path(dest_dir, key)
        result = dict(key=key, dest=dest, size=size, sha256=None, changed=True)
        local = _local_digests(dest, size)
        etag = _ETAG_MD5.match(item.get('etag') or '')
        if local is not None and etag and etag.group(1).lower() == local['md5']:
            # The ETag of an object uploaded in one part is its MD5: same size and MD5, nothing to fetch.
            result.update(sha256=local['sha256'], changed=False)
            return result
        if check_mode:
            return result
        directory = os.path.dirname(dest)
        if not os.path.isdir(directory):
            os.makedirs(directory, DIRECTORY_MODE, exist_ok=True)  # another fetch may make it at the same time

        def fill(write):
            # If-Match: an object replaced since the listing is refused (412), not mixed up with the listed one.
            request = dict(Bucket=self.location.bucket, Key=key)
            if item.get('etag'):
                request['IfMatch'] = item['etag']
            body = self.client.get_object(**request)['Body']
            try:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    write(chunk)
            finally:
                body.close()

        def same_size_then_new(_temporary, written, sha256):
            if written != size:
                raise BucketError('%s: %d bytes read, %d listed: the object is damaged or changed since the listing'
                                  % (key, written, size))
            # Content equal to the file on disk (an ETag that is no MD5 could not tell): keep the file as it is.
            return local is None or local['sha256'] != sha256

        try:
            _written, sha256, replaced = write_atomically(dest, FILE_MODE, fill, same_size_then_new)
        except (BotoCoreError, ClientError) as exc:
            raise BucketError('%s: %s' % (key, self._object_failure(exc))) from None
        except OSError as exc:
            raise BucketError('%s: cannot write %s: %s' % (key, dest, exc.strerror or exc)) from None
        result.update(sha256=sha256, changed=replaced)
        return result

    def _object_failure(self, exc):
        code = exc.response.get('Error', {}).get('Code') if isinstance(exc, ClientError) else None
        if code in ('NoSuchKey', '404'):
            return 'the object is gone from %s since it was listed' % self.location.where()
        if code in ('PreconditionFailed', '412'):
            return 'the object changed in %s since it was listed (its ETag differs)' % self.location.where()
        return self.failure(exc, 'Fetching the object', self.location.store.get_permission)

    def fetch_capture_files(self, capture_id, dest_dir, check_mode=False, page_size=None):
        """List the capture's files and save each below dest_dir (fetch_objects). dest_dir is checked first, so
        that a dest that cannot be written fails before anything is fetched. Returns dict(files=[...], changed=bool)."""
        if not os.path.isdir(dest_dir):
            raise BucketError('dest: %s is not a directory' % dest_dir)
        if not check_mode and not os.access(dest_dir, os.W_OK | os.X_OK):
            raise BucketError('dest: %s is not writable' % dest_dir)
        return self.fetch_objects(capture_id, self.list_capture_objects(capture_id, page_size), dest_dir, check_mode)

    def fetch_objects(self, capture_id, items, dest_dir, check_mode=False):
        """Save each listed object (fetch_object), FETCH_WORKERS at a time, each file atomically on its own. One that
        cannot be fetched does not stop the others: they are saved, then BucketError names every key that failed, in
        the order of the listing, its `files` holding the saved ones (in that order too)."""

        def fetch(item):
            try:
                return self.fetch_object(item, dest_dir, check_mode), None
            except BucketError as exc:
                return None, str(exc)

        with ThreadPoolExecutor(max_workers=max(1, min(FETCH_WORKERS, len(items)))) as pool:
            outcomes = list(pool.map(fetch, items))
        files = [saved for saved, _failure in outcomes if saved is not None]
        failures = [failure for _saved, failure in outcomes if failure is not None]
        if failures:
            raise BucketError('%d of %d files of capture %s could not be fetched (the others are saved): %s'
                              % (len(failures), len(items), capture_id, '; '.join(failures)), files)
        return dict(files=files, changed=any(item['changed'] for item in files))


def _local_digests(path, size):
    """SHA-256 and MD5 of the file at path when it exists with this size, else None."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) != size:
            return None
        return file_digests(path, ('sha256', 'md5'))[1]
    except OSError:
        return None


def _scrub(exc, secrets):
    """An exception's text on one line, with any secret in it masked."""
    text = ' '.join(str(exc).split())
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
