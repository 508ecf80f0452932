# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Buckets for full packet captures: registering, validating the ownership challenge, waiting for Cloudflare to check
it, deleting, finding one by its identity (the destination_conf without access keys). Private to cloudflare.pcap.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import is_cloudflare_id
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import (
    CloudflareAPIError,
    expect_record,
    expect_records,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._normalise import bucket_identity, without_credentials
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import (
    PcapValidationError,
    mask_destination_conf,
    masked,
    validate_schema,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import WaitTimeout, wait_paced_by
from ansible_collections.cloudflare.pcap.plugins.module_utils._schema import (
    OWNERSHIP_REQUEST_SCHEMA,
    OWNERSHIP_VALIDATE_REQUEST_SCHEMA,
)

ADD = 'Add bucket for full packet captures'
VALIDATE = 'Validate bucket ownership'
DELETE = 'Delete bucket'
LIST = 'List buckets'

VALIDATED_STATUS = 'success'
PENDING_STATUS = 'pending'
FAILED_STATUS = 'failed'
# Cloudflare's guide: "Bucket verification can take five to ten minutes to finish processing."
DEFAULT_WAIT_TIMEOUT = 900


def check_destination_conf(destination_conf):
    if not destination_conf or not destination_conf.strip():
        raise PcapValidationError('destination_conf', 'must not be empty')


def masked_buckets(buckets):
    return [masked(bucket) for bucket in buckets]


def is_validated(bucket):
    return bucket.get('status') == VALIDATED_STATUS


def is_pending(bucket):
    return bucket.get('status') == PENDING_STATUS


def find_bucket(buckets, destination_conf):
    """The bucket registered for this destination_conf, or None.

    Buckets are compared by bucket_identity(): Cloudflare may list an R2 bucket with or without the access keys it
    was added with. A bucket listed with exactly this string is preferred over one that only has the same identity.
    """
    for bucket in buckets:
        if bucket.get('destination_conf') == destination_conf:
            return bucket
    wanted = bucket_identity(destination_conf)
    for bucket in buckets:
        if bucket_identity(bucket.get('destination_conf')) == wanted:
            return bucket
    return None


# API operations. Failures raise CloudflareAPIError; request bodies are checked against Cloudflare's schema first
# (PcapValidationError).

def list_buckets(client, operation=LIST):
    return expect_records(client.request('GET', client.account_path('pcaps', 'ownership'), operation), operation, 'buckets')


def add_bucket(client, destination_conf):
    body = {'destination_conf': destination_conf}
    validate_schema(body, OWNERSHIP_REQUEST_SCHEMA)
    result = client.request('POST', client.account_path('pcaps', 'ownership'), ADD, body=body)
    return expect_record(result, ADD, 'a bucket object')


def validate_bucket(client, destination_conf, ownership_challenge):
    """Cloudflare's guide: the validate call carries the R2 URI without its access keys."""
    body = {'destination_conf': without_credentials(destination_conf), 'ownership_challenge': ownership_challenge}
    validate_schema(body, OWNERSHIP_VALIDATE_REQUEST_SCHEMA)
    result = client.request('POST', client.account_path('pcaps', 'ownership', 'validate'), VALIDATE, body=body)
    return expect_record(result, VALIDATE, 'a bucket object')


def delete_bucket(client, bucket_id):
    if not is_cloudflare_id(bucket_id):
        raise CloudflareAPIError(DELETE, 'Cloudflare lists the bucket with id %r, which is not 32 hexadecimal '
                                         'characters; refusing to build a URL from it' % (bucket_id,))
    client.request('DELETE', client.account_path('pcaps', 'ownership', bucket_id), DELETE)


class MissingChallenge(PcapValidationError):
    """state=validated for a bucket that is not validated yet, without ownership_challenge(_file)."""

    def __init__(self, bucket):
        rule = 'is required with state=validated until the bucket is validated (or ownership_challenge_file); '
        if bucket is None:
            rule += 'the bucket is not registered yet, so there is no challenge file to read: add it with ' \
                    'state=present, then download the file named by bucket.filename from the bucket'
        else:
            rule += 'the bucket is %s: download the file %s that Cloudflare wrote into the bucket and pass its ' \
                    'contents, or its local path as ownership_challenge_file' % (
                        bucket.get('status') or 'not validated', bucket.get('filename') or '(no filename given)')
        super(MissingChallenge, self).__init__('ownership_challenge', rule)


class ValidationIncomplete(Exception):
    """The validate call went through, but the bucket is not validated: Cloudflare reports it failed, or it was
    still pending when wait_timeout ran out. `message` says which and what to do."""

    def __init__(self, message):
        self.message = message
        super(ValidationIncomplete, self).__init__(message)


class BucketOwnership:
    """Brings one bucket (found by bucket_identity() of its destination_conf) to a state.

    `bucket` (unmasked; None when there is none) and `changed` are kept up to date step by step, so that a caller
    can report what happened also when a later step fails.
    """

    def __init__(self, client, destination_conf, check_mode=False):
        check_destination_conf(destination_conf)
        self.client = client
        self.destination_conf = destination_conf
        self.check_mode = check_mode
        self.bucket = None
        self.changed = False

    @property
    def name(self):
        """The bucket as messages show it: scheme and bucket name, no credentials."""
        return mask_destination_conf(self.destination_conf)

    def present(self):
        self.bucket = find_bucket(list_buckets(self.client, ADD), self.destination_conf)
        if self.bucket is None and not self.check_mode:
            self._add_once()
        elif self.bucket is None:
            self.changed = True

    def validated(self, ownership_challenge, wait=False, wait_timeout=DEFAULT_WAIT_TIMEOUT):
        """Add the bucket if it is missing, then validate it unless Cloudflare already reports it validated.

        A bucket that is pending is validated again: Cloudflare lists no difference between a bucket never
        validated and one whose validation is in progress, and documents nothing against validating twice. A
        validation that leaves the bucket pending is a success, unless `wait`: then the bucket list is polled until
        Cloudflare reports success or failure, for at most `wait_timeout` seconds.
        """
        self.bucket = find_bucket(list_buckets(self.client, VALIDATE), self.destination_conf)
        if self.bucket is not None and is_validated(self.bucket):
            return
        if not ownership_challenge:
            raise MissingChallenge(self.bucket)
        if self.check_mode:
            self.changed = True
            return
        if self.bucket is None:
            self._add_once()
        self.bucket = self._validate_once(ownership_challenge)
        self.changed = True
        if wait and is_pending(self.bucket):
            self._wait_until_checked(wait_timeout)
        if not (is_validated(self.bucket) or is_pending(self.bucket)):
            raise ValidationIncomplete(self._not_validated_message())

    def _wait_until_checked(self, wait_timeout):
        def fetch(polling):
            bucket = find_bucket(list_buckets(polling, VALIDATE), self.destination_conf)
            if bucket is not None:
                self.bucket = bucket
            return bucket

        try:
            bucket, _elapsed = wait_paced_by(self.client, wait_timeout, fetch,
                                             lambda bucket: bucket is None or not is_pending(bucket), first=self.bucket)
        except WaitTimeout as timeout:
            raise ValidationIncomplete(
                'Bucket %s is still pending after waiting %d s (wait_timeout): Cloudflare takes 5 to 10 minutes to '
                'check the ownership challenge; run the task again later or raise wait_timeout' % (
                    self.name, timeout.elapsed))
        if bucket is None:
            raise ValidationIncomplete('Bucket %s was validated, but Cloudflare no longer lists it (deleted while '
                                       'waiting?)' % self.name)

    def _not_validated_message(self):
        status = self.bucket.get('status') or 'no status'
        if self.bucket.get('status') == FAILED_STATUS:
            return 'Cloudflare could not validate bucket %s (status failed): ownership_challenge must be the ' \
                   'contents of the file %s that Cloudflare wrote into the bucket; check it and validate again' % (
                       self.name, self.bucket.get('filename') or 'named by bucket.filename')
        return 'Cloudflare reports bucket %s as %s, neither validated (success) nor pending' % (self.name, status)

    def absent(self):
        self.bucket = find_bucket(list_buckets(self.client, DELETE), self.destination_conf)
        if self.bucket is None:
            return
        if not self.check_mode:
            try:
                delete_bucket(self.client, self.bucket.get('id'))
            except CloudflareAPIError as error:
                # A DELETE whose answer was lost is retried, and the retry finds nothing: gone either way.
                if error.status != 404:
                    raise
        self.changed = True

    def _add_once(self):
        """POST is not retried; when its outcome is unclear, the bucket list tells whether it was registered."""
        try:
            self.bucket = add_bucket(self.client, self.destination_conf)
            self.changed = True
            return
        except CloudflareAPIError as error:
            # 400/409: maybe registered by someone else since the list was read (Cloudflare documents no code).
            if not (error.outcome_unknown or error.status in (400, 409)):
                raise
            failure = error
        self.bucket = self._look_again(failure, ADD)
        if self.bucket is None:
            if failure.outcome_unknown:
                failure.add_detail('Cloudflare lists no such bucket (checked afterwards)')
                failure.outcome_unknown = False
            raise failure
        # Our request registered it when its outcome was unknown; otherwise someone else did in the meantime.
        self.changed = failure.outcome_unknown

    def _validate_once(self, ownership_challenge):
        try:
            return validate_bucket(self.client, self.destination_conf, ownership_challenge)
        except CloudflareAPIError as error:
            if not error.outcome_unknown:
                raise
            failure = error
        bucket = self._look_again(failure, VALIDATE)
        if bucket is None or not is_validated(bucket):
            if bucket is not None:
                self.bucket = bucket
                failure.add_detail('Cloudflare lists the bucket as %s (checked afterwards); validating again is '
                                   'harmless' % (bucket.get('status') or 'having no status'))
            raise failure
        return bucket

    def _look_again(self, error, operation):
        try:
            return find_bucket(list_buckets(self.client, operation), self.destination_conf)
        except CloudflareAPIError as second:
            error.add_detail('looking at the buckets afterwards failed too (%s), look with bucket_ownership_info '
                             'before running the task again' % second.message)
            raise error
