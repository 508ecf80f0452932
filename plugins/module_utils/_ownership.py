# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Buckets for full packet captures: registering, validating the ownership challenge, deleting, finding one by its
destination_conf. Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.cloudflare.pcap.plugins.module_utils._client import (
    CloudflareAPIError,
    expect_record,
    expect_records,
    is_cloudflare_id,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError, masked, validate_schema
from ansible_collections.cloudflare.pcap.plugins.module_utils._schema import (
    OWNERSHIP_REQUEST_SCHEMA,
    OWNERSHIP_VALIDATE_REQUEST_SCHEMA,
)

ADD = 'Add bucket for full packet captures'
VALIDATE = 'Validate bucket ownership'
DELETE = 'Delete bucket'
LIST = 'List buckets'

VALIDATED_STATUS = 'success'


def check_destination_conf(destination_conf):
    if not destination_conf or not destination_conf.strip():
        raise PcapValidationError('destination_conf', 'must not be empty')


def masked_buckets(buckets):
    return [masked(bucket) for bucket in buckets]


def is_validated(bucket):
    return bucket.get('status') == VALIDATED_STATUS


def find_bucket(buckets, destination_conf):
    """The bucket registered with exactly this destination_conf, or None."""
    for bucket in buckets:
        if bucket.get('destination_conf') == destination_conf:
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
    body = {'destination_conf': destination_conf, 'ownership_challenge': ownership_challenge}
    validate_schema(body, OWNERSHIP_VALIDATE_REQUEST_SCHEMA)
    result = client.request('POST', client.account_path('pcaps', 'ownership', 'validate'), VALIDATE, body=body)
    return expect_record(result, VALIDATE, 'a bucket object')


def delete_bucket(client, bucket_id):
    if not is_cloudflare_id(bucket_id):
        raise CloudflareAPIError(DELETE, 'Cloudflare lists the bucket with id %r, which is not 32 hexadecimal '
                                         'characters; refusing to build a URL from it' % (bucket_id,))
    client.request('DELETE', client.account_path('pcaps', 'ownership', bucket_id), DELETE)


class MissingChallenge(PcapValidationError):
    """state=validated for a bucket that is not validated yet, without ownership_challenge."""

    def __init__(self, bucket):
        if bucket is None:
            rule = 'is required with state=validated until the bucket is validated; the bucket is not registered ' \
                   'yet, so there is no challenge file to read: add it with state=present, then read the file ' \
                   'named by bucket.filename in the bucket'
        else:
            status = bucket.get('status') or 'not validated'
            filename = bucket.get('filename') or '(no filename given)'
            rule = 'is required with state=validated until the bucket is validated; the bucket is %s: read the ' \
                   'file %s that Cloudflare placed in the bucket' % (status, filename)
        super(MissingChallenge, self).__init__('ownership_challenge', rule)


class BucketOwnership:
    """Brings one bucket (by its exact destination_conf) to a state.

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

    def present(self):
        self.bucket = find_bucket(list_buckets(self.client, ADD), self.destination_conf)
        if self.bucket is None and not self.check_mode:
            self._add_once()
        elif self.bucket is None:
            self.changed = True

    def validated(self, ownership_challenge):
        """Add the bucket if it is missing, then validate it unless Cloudflare already reports it validated."""
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
        if not is_validated(self.bucket):
            raise CloudflareAPIError(VALIDATE, 'Cloudflare reports the bucket as %s, not success' % (
                self.bucket.get('status') or 'having no status',))

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
            raise failure
        return bucket

    def _look_again(self, error, operation):
        try:
            return find_bucket(list_buckets(self.client, operation), self.destination_conf)
        except CloudflareAPIError as second:
            error.add_detail('looking at the buckets afterwards failed too (%s), look with bucket_ownership_info '
                             'before running the task again' % second.message)
            raise error
