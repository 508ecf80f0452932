# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which requests are retried and after how long: the policy alone, and through the client against a real HTTP
server on loopback (tests/unit/conftest.py)."""

from __future__ import annotations

import datetime
import email.utils
import re

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import retry as _retry
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, Reply, envelope
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._api.fakes import FakeTime, get_capture, limited, make_client


@pytest.mark.parametrize('status', [500, 502, 503, 504, 429])
def test_get_is_retried_on_transient_status_then_succeeds(stub_api, status):
    seen = []
    stub_api.add(Reply(status, envelope(None, False, [{'code': 1, 'message': 'try later'}])),
                 Reply(200, envelope({'id': CAPTURE_ID})))
    client = make_client(stub_api, on_retry=lambda *args: seen.append(args))
    assert get_capture(client) == {'id': CAPTURE_ID}
    assert len(stub_api.requests) == 2
    assert seen == [('GET', '/client/v4/accounts/%s/pcaps/%s' % (ACCOUNT_ID, CAPTURE_ID), 'HTTP %d' % status, 1)]


def test_get_gives_up_after_retries_with_the_last_answer(stub_api):
    stub_api.add(*[Reply(503, envelope(None, False, [{'code': 7, 'message': 'unavailable'}]))] * 3)
    with pytest.raises(CloudflareAPIError) as caught:
        get_capture(make_client(stub_api, retries=2))
    assert len(stub_api.requests) == 3
    assert 'HTTP 503' in caught.value.message and 'Cloudflare error 7: unavailable' in caught.value.message


@pytest.mark.parametrize('status', [429, 500, 502, 503])
def test_post_is_never_retried(stub_api, status):
    stub_api.add(Reply(status, envelope(None, False, [{'code': 1, 'message': 'no'}]), headers={'Retry-After': '0'}),
                 Reply(200, envelope({'id': CAPTURE_ID})))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={'type': 'simple'})
    assert len(stub_api.requests) == 1
    assert caught.value.outcome_unknown == (status >= 500)


def test_connection_reset_on_get_is_retried(stub_api):
    stub_api.add(Reply(kind='reset'), Reply(200, envelope({'id': CAPTURE_ID})))
    assert get_capture(make_client(stub_api)) == {'id': CAPTURE_ID}


def test_a_retry_after_longer_than_the_client_waits_is_not_waited_for(stub_api):
    # 90 s would fit the 120 s budget, but is more than RETRY_AFTER_CAP: the old client waited 60 s and tried again.
    fake_time = FakeTime()
    stub_api.add(limited(90), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(stub_api.requests) == 1 and fake_time.slept == []
    assert caught.value.locked_out and caught.value.message.endswith('Cloudflare error 10429: Rate limited, retry after 90 s')


@pytest.mark.parametrize('retry_after, waited', [('2', 2.0), ('60', 60.0), ('0', None)])
def test_retry_after_within_the_budget_is_waited_for(stub_api, retry_after, waited):
    fake_time = FakeTime()
    stub_api.add(limited(retry_after), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    assert client.request('GET', client.account_path('pcaps'), 'List packet captures') == []
    assert len(stub_api.requests) == 2
    if waited is None:  # Retry-After: 0 falls back to the first backoff step, full jitter below BACKOFF_BASE
        assert len(fake_time.slept) <= 1 and sum(fake_time.slept) <= _retry.BACKOFF_BASE
    else:
        assert fake_time.slept == [waited]


def test_retry_after_as_a_date_is_waited_for(stub_api):
    fake_time = FakeTime()
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    stub_api.add(limited(email.utils.format_datetime(later, usegmt=True)), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(fake_time.slept) == 1 and 27 <= fake_time.slept[0] <= 30


def test_retry_after_beyond_the_deadline_is_not_waited_for(stub_api):
    fake_time = FakeTime()
    stub_api.add(limited(30), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures', deadline=fake_time.now + 10)
    assert len(stub_api.requests) == 1 and fake_time.slept == []
    error = caught.value
    assert error.locked_out and error.retry_after == 30
    assert error.message.startswith("List packet captures failed: Cloudflare is refusing this credential's calls (rate limit) until ")
    assert 'HTTP 429 Too Many Requests, Cloudflare error 10429: Rate limited, deadline spent: 10 s left, ' \
           'the next try would wait 30 s, retry after 30 s' in error.message


def test_a_503_retry_after_beyond_the_deadline_is_not_a_lock_out(stub_api):
    fake_time = FakeTime()
    stub_api.add(limited(30, status=503, code=7, message='unavailable'), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures', deadline=fake_time.now + 10)
    assert len(stub_api.requests) == 1 and fake_time.slept == []
    assert not caught.value.locked_out
    assert caught.value.message == ('List packet captures failed: HTTP 503 Service Unavailable, Cloudflare error 7: unavailable, '
                                    'deadline spent: 10 s left, the next try would wait 30 s, retry after 30 s')


def test_a_retry_after_wait_counts_against_the_budget(stub_api):
    # The old client waited 50 + 50 s, then once more (120 s were not yet over when the third answer came): 160 s.
    fake_time = FakeTime()
    stub_api.add(*[limited(50, status=503, code=7, message='unavailable')] * 4 + [Reply(200, envelope([]))])
    client = make_client(stub_api, fake_time, retries=5)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert fake_time.slept == [50.0, 50.0]
    assert len(stub_api.requests) == 3
    assert 'retry budget of 120 s spent: 20 s left, the next try would wait 50 s' in caught.value.message


@pytest.mark.parametrize('deadline', [None, 200.0, 45.0, 7.5, 0.0])
def test_backoff_never_overruns_the_budget_or_the_deadline(stub_api, monkeypatch, deadline):
    monkeypatch.setattr(_retry, 'BACKOFF_BASE', 5.0)
    monkeypatch.setattr(_retry, 'BACKOFF_CAP', 40.0)
    monkeypatch.setattr(_retry.random, 'uniform', lambda low, high: high)  # the longest wait full jitter can draw
    fake_time = FakeTime()
    stub_api.add(*[limited(status=502, code=1, message='bad gateway')] * 12)
    client = make_client(stub_api, fake_time, retries=10)
    start = fake_time.now
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures',
                       deadline=None if deadline is None else start + deadline)
    limit = min(120.0, 120.0 if deadline is None else deadline)
    assert fake_time.now - start <= limit
    # Waits 5, 10, 20, 40, 40...: each is made while it still ends within the limit.
    expected = []
    for wait in (5.0, 10.0, 20.0, 40.0, 40.0, 40.0):
        if sum(expected) + wait > limit:
            break
        expected.append(wait)
    assert fake_time.slept == expected
    assert len(stub_api.requests) == len(expected) + 1
    name = 'retry budget of 120 s' if deadline is None or deadline >= 120 else 'deadline'
    assert '%s spent: ' % name in caught.value.message


def test_a_connection_error_past_the_deadline_says_so(stub_api):
    stub_api.add(Reply(kind='reset'), Reply(200, envelope([])))
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures', deadline=fake_time.now)
    assert len(stub_api.requests) == 1
    assert re.match(r'^List packet captures failed: connection to \S+ failed \(.*\); deadline spent: 0 s left, the next try '
                    r'would wait [0-9.]+ s$', caught.value.message), caught.value.message


def test_a_deadline_holds_for_its_own_requests_only(stub_api):
    fake_time = FakeTime()
    stub_api.add(limited(30), limited(30), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.until(fake_time.now + 10).request('GET', client.account_path('pcaps'), 'List packet captures')
    assert caught.value.locked_out and 'deadline spent: 10 s left' in caught.value.message
    assert client.request('GET', client.account_path('pcaps'), 'List packet captures') == []
    assert fake_time.slept == [30.0]


def test_retries_stop_when_the_time_budget_is_spent(stub_api, monkeypatch):
    monkeypatch.setattr(_retry, 'RETRY_BUDGET', 0.0)
    stub_api.add(*[Reply(503, envelope(None, False, [{'code': 7, 'message': 'unavailable'}]))] * 5)
    with pytest.raises(CloudflareAPIError, match='HTTP 503'):
        get_capture(make_client(stub_api, retries=4))
    assert len(stub_api.requests) == 1  # without budget there is no second attempt, whatever `retries` says


# The policy alone: a fixed clock, no HTTP.

def policy(method='GET', retries=3, deadline=None, now=1000.0):
    return _retry.RetryPolicy(method, retries, lambda: now, deadline)


def test_a_retry_after_of_exactly_the_cap_is_waited_for():
    assert _retry.RETRY_AFTER_CAP == 60.0
    assert policy().wait_after(status=429, retry_after='60') == 60.0


@pytest.mark.parametrize('retry_after', ['61', '60.5', '300'])
def test_a_retry_after_beyond_the_cap_is_refused_at_once(retry_after):
    with pytest.raises(_retry.RetryRefused) as caught:
        policy().wait_after(status=429, retry_after=retry_after)
    assert caught.value.retry_after_refused
    assert caught.value.detail.startswith('not retried: Cloudflare asked to wait ')


def test_a_get_answered_retry_after_61_fails_at_once_as_a_lock_out(stub_api):
    fake_time = FakeTime()
    stub_api.add(limited(61), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time, retries=3)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(stub_api.requests) == 1 and fake_time.slept == []
    assert caught.value.locked_out
    assert caught.value.message.startswith("List packet captures failed: Cloudflare is refusing this credential's calls "
                                           "(rate limit) until ")


@pytest.mark.parametrize('status, retry_after, refused, locked_out', [
    (429, 60, False, False),
    (429, 61, False, True),
    (429, 30, True, True),     # a Retry-After the deadline or budget did not leave time for
    (429, None, True, False),  # a refused backoff is no lock-out
    (503, 300, True, False),   # only a 429 is Cloudflare's rate limit
])
def test_is_lock_out(status, retry_after, refused, locked_out):
    assert _retry.is_lock_out(status, retry_after, refused) is locked_out


@pytest.mark.parametrize('method, status, failure, worth', [
    ('GET', 503, None, True), ('DELETE', 429, None, True), ('PUT', 520, None, True), ('HEAD', 524, None, True),
    ('GET', 404, None, False), ('GET', 501, None, False), ('GET', 200, None, False),
    ('POST', 503, None, False), ('POST', 429, None, False),
    ('GET', None, _retry.BROKEN_CONNECTION, True), ('POST', None, _retry.BROKEN_CONNECTION, False),
    # Nothing was sent when no connection was made: even a create may be tried again.
    ('POST', None, _retry.NO_CONNECTION, True), ('GET', None, _retry.NO_CONNECTION, True),
    ('GET', None, _retry.OTHER_FAILURE, False),
])
def test_which_failures_are_worth_another_try(method, status, failure, worth):
    assert policy(method).worth_retrying(status, failure) is worth


def test_no_more_than_the_retries_asked_for():
    subject = policy(retries=2)
    waits = [subject.wait_after(status=503, retry_after='1') for _attempt in range(3)]
    assert waits == [1.0, 1.0, None] and subject.left == 0


def test_backoff_grows_exponentially_up_to_its_cap(monkeypatch):
    monkeypatch.setattr(_retry.random, 'uniform', lambda low, high: (low, high))
    assert [_retry.backoff(failures) for failures in (1, 2, 3, 4, 5, 6)] == [
        (0, 0.5), (0, 1.0), (0, 2.0), (0, 4.0), (0, 8.0), (0, 8.0)]


def test_retry_after_zero_falls_back_to_the_backoff(monkeypatch):
    monkeypatch.setattr(_retry.random, 'uniform', lambda low, high: high)
    assert policy().wait_after(status=429, retry_after='0') == _retry.BACKOFF_BASE


def test_a_create_that_could_not_connect_is_tried_again(stub_api):
    fake_time = FakeTime()
    seen = []
    client = make_client(stub_api, fake_time, base_url='http://127.0.0.1:9', retries=2, on_retry=lambda *args: seen.append(args))
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert [(method, cause, left) for method, _path, cause, left in seen] == [
        ('POST', 'no connection', 1), ('POST', 'no connection', 0)]
    assert not caught.value.outcome_unknown and 'cannot connect to http://127.0.0.1:9' in caught.value.message
