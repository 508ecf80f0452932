# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bucket ownership domain against a real HTTP server on loopback (tests/unit/conftest.py)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import retry as _retry, waiter as _waiter
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import CloudflareClient
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._buckets.ownership import (
    BucketOwnership,
    MissingChallenge,
    ValidationIncomplete,
    add_bucket,
    bucket_identity,
    delete_bucket,
    find_bucket,
    list_buckets,
    masked_buckets,
    validate_bucket,
    without_credentials,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import Waiter
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, TOKEN, Reply, envelope

BUCKET_ID = '9883874ecac311ec8475433579a6bf5f'
OTHER_ID = 'ffffffffffffffffffffffffffffffff'
URI = 'r2://pcaps-bucket?account-id=1&access-key-id=KEYID&secret-access-key=SECRETVALUE'
# The same bucket as Cloudflare lists it, and as the validate call must name it: without the access keys.
URI_WITHOUT_KEYS = 'r2://pcaps-bucket?account-id=1'
OWNERSHIP = '/client/v4/accounts/%s/pcaps/ownership' % ACCOUNT_ID
CHALLENGE = 'ownership-challenge-1234abcd.txt'
CHALLENGE_CONTENTS = 'c1f0a8e2d7b94e6a9f3b2c1d0e9f8a7b'


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
    monkeypatch.setattr(_retry, 'BACKOFF_BASE', 0.0)


@pytest.fixture
def client(stub_api):
    return CloudflareClient(account_id=ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, retries=2, timeout=5)


def calls(stub_api):
    return [(r['method'], r['path']) for r in stub_api.requests]


class FakeTime:
    """A clock that only moves when the waiter sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def install_fake_time(monkeypatch):
    """Waits (_waiter.wait_paced_by) run on a fake clock: no real sleeping, and the seconds slept are known."""
    fake = FakeTime()
    monkeypatch.setattr(_waiter, 'Waiter', lambda timeout, clock=None, sleep=None, pace=None: Waiter(timeout, clock=fake.clock, sleep=fake.sleep, pace=pace))
    return fake


@pytest.fixture
def fake_time(monkeypatch):
    return install_fake_time(monkeypatch)


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


def test_validate_posts_the_uri_without_keys_and_the_challenge(stub_api, client):
    stub_api.add(one(status='success'))
    assert validate_bucket(client, URI, CHALLENGE_CONTENTS)['status'] == 'success'
    assert stub_api.requests[0]['body'] == {'destination_conf': URI_WITHOUT_KEYS, 'ownership_challenge': CHALLENGE_CONTENTS}
    assert calls(stub_api) == [('POST', OWNERSHIP + '/validate')]


def test_validate_posts_a_uri_without_keys_as_given(stub_api, client):
    stub_api.add(one(status='success'))
    validate_bucket(client, 's3://pcaps-bucket/dir?region=us-east-1', CHALLENGE_CONTENTS)
    assert stub_api.requests[0]['body']['destination_conf'] == 's3://pcaps-bucket/dir?region=us-east-1'


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


# Identity: the destination_conf without access keys

@pytest.mark.parametrize('uri, identity', [
    (URI, URI_WITHOUT_KEYS),
    (URI_WITHOUT_KEYS, URI_WITHOUT_KEYS),
    ('r2://pcaps-bucket?access-key-id=K&account-id=1&secret-access-key=S', URI_WITHOUT_KEYS),
    ('r2://pcaps-bucket?secret-access-key=S&access-key-id=K', 'r2://pcaps-bucket'),
    ('R2://pcaps-bucket?Access-Key-Id=K&account-id=1&SECRET-ACCESS-KEY=S', URI_WITHOUT_KEYS),
    ('r2://pcaps-bucket?account-id=1&access%2Dkey%2Did=K', URI_WITHOUT_KEYS),
    ('  r2://pcaps-bucket?account-id=1&&access-key-id=K&  \n', URI_WITHOUT_KEYS),
    ('s3://pcaps-bucket/dir?region=us-east-1', 's3://pcaps-bucket/dir?region=us-east-1'),
    ('s3://pcaps-bucket?region=us-east-1&x=2', 's3://pcaps-bucket?region=us-east-1&x=2'),
    ('s3://pcaps-bucket?x=2&region=us-east-1', 's3://pcaps-bucket?region=us-east-1&x=2'),
    ('gs://pcaps-bucket/dir', 'gs://pcaps-bucket/dir'),
    ('r2://pcaps-bucket?access-key-id=K#part', 'r2://pcaps-bucket#part'),
    ('not a uri?access-key-id=K', 'not a uri'),
    (None, None),
])
def test_bucket_identity_drops_the_keys_and_normalises(uri, identity):
    assert bucket_identity(uri) == identity


@pytest.mark.parametrize('uri', [
    URI, 'r2://pcaps-bucket?account-id=1&access-key-id=OTHER&secret-access-key=ROTATED', 'r2://pcaps-bucket?account-id=1',
])
def test_bucket_identity_holds_no_secret(uri):
    assert 'KEYID' not in bucket_identity(uri) and 'SECRETVALUE' not in bucket_identity(uri)
    assert bucket_identity(uri) == bucket_identity(URI)


@pytest.mark.parametrize('one_uri, other_uri', [
    (URI, 'r2://other-bucket?account-id=1&access-key-id=KEYID&secret-access-key=SECRETVALUE'),
    (URI, 'r2://pcaps-bucket?account-id=2'),
    (URI, 'r2://pcaps-bucket'),
    (URI, 'r2://pcaps-bucket/dir?account-id=1'),
    ('s3://pcaps-bucket?region=us-east-1', 's3://pcaps-bucket?region=eu-west-1'),
    ('s3://pcaps-bucket', 'S3://PCAPS-BUCKET'),
])
def test_bucket_identity_tells_other_buckets_apart(one_uri, other_uri):
    assert bucket_identity(one_uri) != bucket_identity(other_uri)


@pytest.mark.parametrize('uri, sent', [
    (URI, URI_WITHOUT_KEYS),
    ('r2://pcaps-bucket?access-key-id=K&region=auto&secret-access-key=S&account-id=1', 'r2://pcaps-bucket?region=auto&account-id=1'),
    ('r2://pcaps-bucket?access-key-id=K&secret-access-key=S', 'r2://pcaps-bucket'),
    ('s3://pcaps-bucket?x=2&region=us-east-1', 's3://pcaps-bucket?x=2&region=us-east-1'),
    (' s3://pcaps-bucket ', ' s3://pcaps-bucket '),
])
def test_without_credentials_keeps_everything_else_in_order(uri, sent):
    assert without_credentials(uri) == sent


@pytest.mark.parametrize('listed_as', [URI, URI_WITHOUT_KEYS, 'r2://pcaps-bucket?access-key-id=OLD&secret-access-key=X&account-id=1'])
@pytest.mark.parametrize('wanted', [URI, URI_WITHOUT_KEYS])
def test_find_matches_by_identity_with_or_without_keys_on_either_side(listed_as, wanted):
    buckets = [bucket(id=OTHER_ID, destination_conf='r2://pcaps-bucket?account-id=2'), bucket(destination_conf=listed_as)]
    assert find_bucket(buckets, wanted)['id'] == BUCKET_ID


def test_find_prefers_the_exact_string_and_ignores_other_buckets():
    buckets = [bucket(id=OTHER_ID, destination_conf=URI_WITHOUT_KEYS), bucket()]
    assert find_bucket(buckets, URI)['id'] == BUCKET_ID
    assert find_bucket(buckets, URI_WITHOUT_KEYS)['id'] == OTHER_ID
    assert find_bucket(buckets, 'r2://pcaps-bucket') is None
    assert find_bucket(buckets, URI_WITHOUT_KEYS + '&region=auto') is None
    assert find_bucket([bucket(destination_conf=None)], URI) is None
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


@pytest.mark.parametrize('listed_as', [URI_WITHOUT_KEYS, URI])
def test_present_finds_the_bucket_listed_with_or_without_keys(stub_api, client, listed_as):
    stub_api.add(listed(bucket(destination_conf=listed_as)))
    ownership = BucketOwnership(client, URI)
    ownership.present()
    assert ownership.changed is False and ownership.bucket['id'] == BUCKET_ID
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_present_adds_with_the_keys(stub_api, client):
    stub_api.add(listed(), one(destination_conf=URI_WITHOUT_KEYS))
    BucketOwnership(client, URI).present()
    assert stub_api.requests[1]['body'] == {'destination_conf': URI}


def test_present_when_the_add_is_refused_but_the_bucket_is_listed_without_keys_is_unchanged(stub_api, client):
    # Cloudflare refuses a second registration; the bucket it lists (without keys) is ours.
    stub_api.add(listed(), failure(400, 1000, 'Bucket already registered'), listed(bucket(destination_conf=URI_WITHOUT_KEYS)))
    ownership = BucketOwnership(client, URI)
    ownership.present()
    assert ownership.changed is False and ownership.bucket['id'] == BUCKET_ID


def test_present_when_someone_else_registered_it_meanwhile_is_unchanged(stub_api, client):
    stub_api.add(listed(), failure(409, 1000, 'Bucket already registered'), listed(bucket()))
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
    stub_api.add(listed(bucket(status=status, destination_conf=URI_WITHOUT_KEYS)),
                 one(status='success', validated='2026-11-27T08:05:00Z'))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE_CONTENTS)
    assert ownership.changed is True and ownership.bucket['status'] == 'success'
    assert calls(stub_api) == [('GET', OWNERSHIP), ('POST', OWNERSHIP + '/validate')]
    assert stub_api.requests[1]['body'] == {'destination_conf': URI_WITHOUT_KEYS, 'ownership_challenge': CHALLENGE_CONTENTS}


def test_validated_leaves_a_validated_bucket_listed_without_keys_alone(stub_api, client):
    stub_api.add(listed(bucket(status='success', destination_conf=URI_WITHOUT_KEYS)))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE_CONTENTS, wait=True)
    assert ownership.changed is False and ownership.bucket['status'] == 'success'
    assert [m for m, _p in calls(stub_api)] == ['GET']


def test_validation_that_leaves_the_bucket_pending_succeeds_without_wait(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one())
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE_CONTENTS)
    assert ownership.changed is True and ownership.bucket['status'] == 'pending'
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST']
    assert fake_time.sleeps == []


def test_wait_polls_the_list_until_the_bucket_is_validated(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one(), listed(bucket(destination_conf=URI_WITHOUT_KEYS)),
                 listed(bucket(id=OTHER_ID, destination_conf='s3://other'),
                        bucket(status='success', destination_conf=URI_WITHOUT_KEYS, validated='2026-11-27T08:07:00Z')))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE_CONTENTS, wait=True, wait_timeout=900)
    assert ownership.changed is True and ownership.bucket['status'] == 'success'
    assert ownership.bucket['validated'] == '2026-11-27T08:07:00Z'
    assert calls(stub_api) == [('GET', OWNERSHIP), ('POST', OWNERSHIP + '/validate'), ('GET', OWNERSHIP), ('GET', OWNERSHIP)]
    assert len(fake_time.sleeps) == 2


def test_wait_gives_its_polls_the_deadline_of_the_wait_and_no_other_request(stub_api, client, fake_time, monkeypatch):
    deadlines = []
    request = client.request
    monkeypatch.setattr(client, 'clock', lambda: 1000.0)
    monkeypatch.setattr(client, 'request', lambda *args, **kwargs: deadlines.append(kwargs.get('deadline')) or request(*args, **kwargs))
    stub_api.add(listed(bucket()), one(), listed(bucket(status='success')))
    BucketOwnership(client, URI).validated(CHALLENGE_CONTENTS, wait=True, wait_timeout=600)
    assert deadlines == [None, None, 1600.0]  # list, validate, then the poll: its retries end with the wait


def test_wait_ends_in_failure_when_cloudflare_reports_the_bucket_failed(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one(), listed(bucket(status='failed')))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(ValidationIncomplete) as caught:
        ownership.validated(CHALLENGE_CONTENTS, wait=True)
    assert caught.value.message == (
        'Cloudflare could not validate bucket r2://pcaps-bucket?******** (status failed): ownership_challenge must be '
        'the contents of the file %s that Cloudflare wrote into the bucket; check it and validate again' % CHALLENGE)
    assert ownership.changed is True and ownership.bucket['status'] == 'failed'


def test_wait_times_out_with_the_last_bucket_seen(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one(), *[listed(bucket()) for _poll in range(40)])
    ownership = BucketOwnership(client, URI)
    with pytest.raises(ValidationIncomplete) as caught:
        ownership.validated(CHALLENGE_CONTENTS, wait=True, wait_timeout=60)
    assert caught.value.message == (
        'Bucket r2://pcaps-bucket?******** is still pending after waiting 60 s (wait_timeout): Cloudflare takes 5 to '
        '10 minutes to check the ownership challenge; run the task again later or raise wait_timeout')
    assert 'SECRETVALUE' not in caught.value.message
    assert ownership.changed is True and ownership.bucket['status'] == 'pending'
    assert fake_time.now == 60 and sum(fake_time.sleeps) == 60
    assert len(stub_api.requests) - 2 == len(fake_time.sleeps)  # one poll after each sleep but the last


def test_wait_timeout_zero_gives_up_at_once(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one())
    ownership = BucketOwnership(client, URI)
    with pytest.raises(ValidationIncomplete) as caught:
        ownership.validated(CHALLENGE_CONTENTS, wait=True, wait_timeout=0)
    assert 'still pending after waiting 0 s' in caught.value.message
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST']


def test_wait_when_the_bucket_disappears_fails_and_says_so(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one(), listed())
    ownership = BucketOwnership(client, URI)
    with pytest.raises(ValidationIncomplete) as caught:
        ownership.validated(CHALLENGE_CONTENTS, wait=True)
    assert caught.value.message == ('Bucket r2://pcaps-bucket?******** was validated, but Cloudflare no longer lists '
                                    'it (deleted while waiting?)')
    assert ownership.bucket['status'] == 'pending'


def test_wait_when_listing_fails_raises_the_api_error(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one(), failure(403, 10000, 'Authentication error'))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.validated(CHALLENGE_CONTENTS, wait=True)
    assert caught.value.status == 403
    assert ownership.changed is True and ownership.bucket['status'] == 'pending'


def test_wait_after_a_validation_answered_success_does_not_poll(stub_api, client, fake_time):
    stub_api.add(listed(bucket()), one(status='success'))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE_CONTENTS, wait=True)
    assert [m for m, _p in calls(stub_api)] == ['GET', 'POST'] and fake_time.sleeps == []


def test_validated_adds_a_missing_bucket_first(stub_api, client):
    stub_api.add(listed(), one(), one(status='success'))
    ownership = BucketOwnership(client, URI)
    ownership.validated(CHALLENGE)
    assert ownership.changed is True and ownership.bucket['status'] == 'success'
    assert calls(stub_api) == [('GET', OWNERSHIP), ('POST', OWNERSHIP), ('POST', OWNERSHIP + '/validate')]


def test_failed_validation_after_adding_keeps_the_added_bucket_and_changed(stub_api, client):
    stub_api.add(listed(), one(), failure(400, 1000, 'Ownership challenge does not match'))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.validated('wrong')
    assert caught.value.status == 400
    assert ownership.changed is True and ownership.bucket['status'] == 'pending'


@pytest.mark.parametrize('status, message', [
    ('failed', 'Cloudflare could not validate bucket r2://pcaps-bucket?******** (status failed)'),
    ('unknown', 'Cloudflare reports bucket r2://pcaps-bucket?******** as unknown, neither validated (success) nor pending'),
    (None, 'Cloudflare reports bucket r2://pcaps-bucket?******** as no status, neither validated (success) nor pending'),
])
def test_validation_answered_with_a_status_other_than_success_or_pending_fails(stub_api, client, status, message):
    stub_api.add(listed(bucket()), one(status=status))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(ValidationIncomplete) as caught:
        ownership.validated(CHALLENGE)
    assert caught.value.message.startswith(message)
    assert ownership.changed is True


@pytest.mark.parametrize('existing, hint', [
    ((), 'add it with state=present'),
    ((bucket(),), 'the bucket is pending: download the file %s' % CHALLENGE),
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


def test_validation_with_a_lost_answer_and_the_bucket_still_pending_fails_and_says_so(stub_api, client):
    stub_api.add(listed(bucket()), Reply(kind='reset'), listed(bucket()))
    ownership = BucketOwnership(client, URI)
    with pytest.raises(CloudflareAPIError) as caught:
        ownership.validated(CHALLENGE, wait=True)
    assert caught.value.message.endswith('Cloudflare lists the bucket as pending (checked afterwards); validating '
                                         'again is harmless')
    assert ownership.changed is False and ownership.bucket['status'] == 'pending'


def test_absent_deletes_a_listed_bucket(stub_api, client):
    stub_api.add(listed(bucket()), Reply(204))
    ownership = BucketOwnership(client, URI)
    ownership.absent()
    assert ownership.changed is True and ownership.bucket['id'] == BUCKET_ID
    assert calls(stub_api) == [('GET', OWNERSHIP), ('DELETE', OWNERSHIP + '/' + BUCKET_ID)]


def test_absent_deletes_the_bucket_listed_without_keys(stub_api, client):
    stub_api.add(listed(bucket(destination_conf=URI_WITHOUT_KEYS)), Reply(204), listed())
    BucketOwnership(client, URI).absent()
    second = BucketOwnership(client, URI)
    second.absent()
    assert second.changed is False
    assert calls(stub_api) == [('GET', OWNERSHIP), ('DELETE', OWNERSHIP + '/' + BUCKET_ID), ('GET', OWNERSHIP)]


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
    stub_api.add(listed(bucket()), Reply(kind='reset'), failure(404, 1000, 'Bucket not found'))
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
