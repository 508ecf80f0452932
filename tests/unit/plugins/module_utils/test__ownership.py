# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bucket ownership domain against a real HTTP server on loopback (tests/unit/conftest.py)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils import _client
from ansible_collections.cloudflare.pcap.plugins.module_utils._client import CloudflareAPIError, CloudflareClient
from ansible_collections.cloudflare.pcap.plugins.module_utils._ownership import (
    BucketOwnership,
    MissingChallenge,
    add_bucket,
    delete_bucket,
    find_bucket,
    list_buckets,
    masked_buckets,
    validate_bucket,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, TOKEN, Reply, envelope

BUCKET_ID = '9883874ecac311ec8475433579a6bf5f'
OTHER_ID = 'ffffffffffffffffffffffffffffffff'
URI = 'r2://pcaps-bucket?account-id=1&access-key-id=KEYID&secret-access-key=SECRETVALUE'
OWNERSHIP = '/client/v4/accounts/%s/pcaps/ownership' % ACCOUNT_ID
CHALLENGE = 'ownership-challenge-1234abcd.txt'


def bucket(**fields):
    record = {'id': BUCKET_ID, 'status': 'pending', 'submitted': '2026-11-27T08:00:00Z', 'destination_conf': URI,
              'filename': CHALLENGE}
    record.update(fields)
    return record


def listed(*buckets):
    return Reply(200, envelope(list(buckets)))


def one(**fields):
    return Reply(200, envelope(bucket(**fields)))


def failure(status, code, message):
    return Reply(status, envelope(None, False, [{'code': code, 'message': message}]))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(_client, 'BACKOFF_BASE', 0.0)


@pytest.fixture
def client(stub_api):
    return CloudflareClient(account_id=ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, retries=2, timeout=5)


def calls(stub_api):
    return [(r['method'], r['path']) for r in stub_api.requests]


# Single operations

@pytest.mark.parametrize('result', [None, []])
def test_list_of_none_or_nothing_is_empty(stub_api, client, result):
    stub_api.add(Reply(200, envelope(result)))
    assert list_buckets(client) == []
    assert calls(stub_api) == [('GET', OWNERSHIP)]


def test_list_that_is_not_a_list_is_an_error(stub_api, client):
    stub_api.add(Reply(200, envelope({'id': BUCKET_ID})))
    with pytest.raises(CloudflareAPIError) as caught:
        list_buckets(client)
    assert caught.value.message == 'List buckets failed: Cloudflare answered success without a list of buckets'


def test_add_posts_the_destination_conf(stub_api, client):
    stub_api.add(one())
    assert add_bucket(client, URI) == bucket()
    assert stub_api.requests[0]['body'] == {'destination_conf': URI}
    assert calls(stub_api) == [('POST', OWNERSHIP)]


def test_validate_posts_conf_and_challenge(stub_api, client):
    stub_api.add(one(status='success'))
    assert validate_bucket(client, URI, CHALLENGE)['status'] == 'success'
    assert stub_api.requests[0]['body'] == {'destination_conf': URI, 'ownership_challenge': CHALLENGE}
    assert calls(stub_api) == [('POST', OWNERSHIP + '/validate')]


def test_delete_uses_the_bucket_id(stub_api, client):
    stub_api.add(Reply(204))
    assert delete_bucket(client, BUCKET_ID) is None
    assert calls(stub_api) == [('DELETE', OWNERSHIP + '/' + BUCKET_ID)]


@pytest.mark.parametrize('bad_id', ['../../zones', 'abc', None, BUCKET_ID + '/x'])
def test_delete_refuses_an_id_that_is_not_a_cloudflare_id(stub_api, client, bad_id):
    with pytest.raises(CloudflareAPIError) as caught:
        delete_bucket(client, bad_id)
    assert caught.value.operation == 'Delete bucket'
    assert stub_api.requests == []


def test_success_without_a_bucket_object_is_an_error(stub_api, client):
    stub_api.add(Reply(200, envelope(None)))
    with pytest.raises(CloudflareAPIError) as caught:
        add_bucket(client, URI)
    assert 'without a bucket object' in caught.value.message


def test_schema_violation_is_refused_before_sending(stub_api, client):
    with pytest.raises(PcapValidationError) as caught:
        validate_bucket(client, URI, 12345)
    assert str(caught.value).startswith('ownership_challenge: ')
    assert stub_api.requests == []


def test_find_compares_the_exact_string():
    buckets = [bucket(id=OTHER_ID, destination_conf=URI + 'x'), bucket()]
    assert find_bucket(buckets, URI)['id'] == BUCKET_ID
    assert find_bucket(buckets, URI.upper()) is None
    assert find_bucket(buckets, 'r2://pcaps-bucket') is None
    assert find_bucket([], URI) is None


def test_masking_hides_the_query_and_keeps_the_rest():
    result = masked_buckets([bucket()])
    assert result == [dict(bucket(), destination_conf='r2://pcaps-bucket?********')]
    assert 'SECRETVALUE' not in repr(result)


# States

@pytest.mark.parametrize('value', ['', '   '])
def test_empty_destination_conf_is_refused(client, value):
    with pytest.raises(PcapValidationError) as caught:
        BucketOwnership(client, value)
    assert str(caught.value) == 'destination_conf: must not be empty'


def test_present_adds_a_missing_bucket(stub_api, client):
    stub_api.add(listed(bucket(id=OTHER_ID, destination_conf='s3://other')), one())
    ownership = BucketOwnership(client, URI)
    ownership.present()
    assert ownership.changed is True and ownership.bucket['id'] == BUCKET_ID
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST']


def test_present_keeps_an_existing_bucket(stub_api, client):
    stub_api.add(listed(bucket()))
    ownership = BucketOwnership(client, URI)
    ownership.present()
    assert ownership.changed is False and ownership.bucket == bucket()
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_present_in_check_mode_only_reads(stub_api, client):
    stub_api.add(listed())
    ownership = BucketOwnership(client, URI, check_mode=True)
    ownership.present()
    assert ownership.changed is True and ownership.bucket is None
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_present_after_a_lost_answer_finds_the_bucket_it_added(stub_api, client):
    stub_api.add(listed(), Reply(kind='reset'), listed(bucket()))
    ownership = BucketOwnership(client, URI)
    ownership.present()
    assert ownership.changed is True and ownership.bucket['id'] == BUCKET_ID
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST', 'GET']


def test_present_after_a_lost_answer_without_the_bucket_fails_and_says_so(stub_api, client):
    stub_api.add(listed(), Reply(kind='reset'), listed())
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.present()
    assert 'Cloudflare lists no such bucket (checked afterwards)' in caught.value.message
    assert caught.value.outcome_unknown is False
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST', 'GET']


def test_present_when_someone_else_registered_it_meanwhile_is_unchanged(stub_api, client):
    stub_api.add(listed(), failure(400, 1010, 'Bucket already registered'), listed(bucket()))
    ownership = BucketOwnership(client, URI)
    ownership.present()
    assert ownership.changed is False and ownership.bucket['id'] == BUCKET_ID


def test_present_refused_by_cloudflare_fails_with_its_error(stub_api, client):
    stub_api.add(listed(), failure(400, 1001, 'destination_conf: unsupported scheme'), listed())
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.present()
    assert caught.value.message == ('Add bucket for full packet captures failed: HTTP 400 Bad Request, '
                                    'Cloudflare error 1001: destination_conf: unsupported scheme')
    assert ownership.changed is False and ownership.bucket is None


def test_validated_leaves_a_validated_bucket_alone_without_a_challenge(stub_api, client):
    stub_api.add(listed(bucket(status='success')))
    ownership = BucketOwnership(client, URI)
    ownership.validated(None)
    assert ownership.changed is False and ownership.bucket['status'] == 'success'
    assert [m for m, _p in calls(stub_api)] == ['GET']


@pytest.mark.parametrize('status', ['pending', 'failed'])
def test_validated_validates_a_pending_or_failed_bucket(stub_api, client, status):
    stub_api.add(listed(bucket(status=status)), one(status='success', validated='2026-11-27T08:05:00Z'))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE)
    assert ownership.changed is True and ownership.bucket['status'] == 'success'
    assert calls(stub_api) == [('GET', OWNERSHIP), ('POST', OWNERSHIP + '/validate')]


def test_validated_adds_a_missing_bucket_first(stub_api, client):
    stub_api.add(listed(), one(), one(status='success'))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE)
    assert ownership.changed is True and ownership.bucket['status'] == 'success'
    assert calls(stub_api) == [('GET', OWNERSHIP), ('POST', OWNERSHIP), ('POST', OWNERSHIP + '/validate')]


def test_failed_validation_after_adding_keeps_the_added_bucket_and_changed(stub_api, client):
    stub_api.add(listed(), one(), failure(400, 1012, 'Ownership challenge does not match'))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.validated('wrong')
    assert caught.value.error_codes == [1012]
    assert ownership.changed is True and ownership.bucket['status'] == 'pending'


def test_validation_answered_with_a_status_other_than_success_fails(stub_api, client):
    stub_api.add(listed(bucket()), one(status='failed'))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.validated(CHALLENGE)
    assert caught.value.message == 'Validate bucket ownership failed: Cloudflare reports the bucket as failed, not success'
    assert ownership.changed is True


@pytest.mark.parametrize('existing, hint', [
    ((), 'add it with state=present'),
    ((bucket(),), 'read the file %s' % CHALLENGE),
])
def test_validated_without_a_challenge_names_the_option(stub_api, client, existing, hint):
    stub_api.add(listed(*existing))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(MissingChallenge) as caught:
        ownership.validated(None)
    assert str(caught.value).startswith('ownership_challenge: is required with state=validated')
    assert hint in str(caught.value)
    assert [m for m, _p in calls(stub_api)] == ['GET']


@pytest.mark.parametrize('existing', [(), (bucket(),)])
def test_validated_in_check_mode_only_reads(stub_api, client, existing):
    stub_api.add(listed(*existing))
    ownership = BucketOwnership(client, URI, check_mode=True)
    ownership.validated(CHALLENGE)
    assert ownership.changed is True
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_validation_with_a_lost_answer_is_confirmed_by_the_list(stub_api, client):
    stub_api.add(listed(bucket()), Reply(kind='reset'), listed(bucket(status='success')))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE)
    assert ownership.changed is True and ownership.bucket['status'] == 'success'
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST', 'GET']


def test_absent_deletes_a_listed_bucket(stub_api, client):
    stub_api.add(listed(bucket()), Reply(204))
    ownership = BucketOwnership(client, URI)
    ownership.absent()
    assert ownership.changed is True and ownership.bucket['id'] == BUCKET_ID
    assert calls(stub_api) == [('GET', OWNERSHIP), ('DELETE', OWNERSHIP + '/' + BUCKET_ID)]


def test_absent_without_the_bucket_is_unchanged(stub_api, client):
    stub_api.add(listed(bucket(id=OTHER_ID, destination_conf='s3://other')))
    ownership = BucketOwnership(client, URI)
    ownership.absent()
    assert ownership.changed is False and ownership.bucket is None
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_absent_in_check_mode_only_reads(stub_api, client):
    stub_api.add(listed(bucket()))
    ownership = BucketOwnership(client, URI, check_mode=True)
    ownership.absent()
    assert ownership.changed is True and ownership.bucket['id'] == BUCKET_ID
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_absent_when_the_retried_delete_finds_nothing_is_done(stub_api, client):
    stub_api.add(listed(bucket()), Reply(kind='reset'), failure(404, 1011, 'Bucket not found'))
    ownership = BucketOwnership(client, URI)
    ownership.absent()
    assert ownership.changed is True
    assert [m for m, _p in calls(stub_api)] == ['GET', 'DELETE', 'DELETE']


def test_absent_other_delete_failures_are_raised(stub_api, client):
    stub_api.add(listed(bucket()), failure(403, 10000, 'Authentication error'))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.absent()
    assert caught.value.message.startswith('Delete bucket failed: HTTP 403')
    assert ownership.changed is False
