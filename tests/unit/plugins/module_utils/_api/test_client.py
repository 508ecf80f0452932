# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP client against a real HTTP server on loopback (tests/unit/conftest.py)."""

from __future__ import annotations

import datetime
import email.utils
import os
import re
import time

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import client as _client
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import CloudflareAPIError, CloudflareClient, RateLimit, parse_rate_limit
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import Waiter, WaitTimeout

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..'))
HTML_502 = b'<!DOCTYPE html><html><head><title>api.cloudflare.com | 502: Bad gateway</title></head><body>x</body></html>'


class FakeTime:
    """The client's monotonic clock and sleep: sleeping only moves the clock on, and every wait is recorded."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


def make_client(stub_api, fake_time=None, **kwargs):
    """A client on the stub server; its waits go to `fake_time` (a new FakeTime if not given), never to real time."""
    fake_time = fake_time or FakeTime()
    options = dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, retries=2, timeout=5,
                   clock=fake_time.clock, sleep=fake_time.sleep)
    options.update(kwargs)
    return CloudflareClient(**options)


def utc_seconds(text):
    """RFC 3339 UTC time with Z -> seconds since the epoch; fails on any other shape."""
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', text), text
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()


def limited(retry_after=None, status=429, code=10429, message='Rate limited'):
    headers = {'Retry-After': str(retry_after)} if retry_after is not None else {}
    return Reply(status, envelope(None, False, [{'code': code, 'message': message}]), headers=headers)


def get_capture(client):
    return client.request('GET', client.account_path('pcaps', CAPTURE_ID), 'Get packet capture')


def test_success_returns_the_envelope_result(stub_api):
    stub_api.add(Reply(200, envelope({'id': CAPTURE_ID, 'status': 'pending'})))
    assert get_capture(make_client(stub_api)) == {'id': CAPTURE_ID, 'status': 'pending'}
    sent = stub_api.requests[0]
    assert sent['path'] == '/client/v4/accounts/%s/pcaps/%s' % (ACCOUNT_ID, CAPTURE_ID)
    assert sent['headers']['Authorization'] == 'Bearer ' + TOKEN
    assert 'X-Auth-Key' not in sent['headers']


def test_global_key_authentication_sends_email_and_key(stub_api):
    stub_api.add(Reply(200, envelope([])))
    client = make_client(stub_api, api_token=None, api_email='soc@example.com', api_key='global-key-123')
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    headers = stub_api.requests[0]['headers']
    assert headers['X-Auth-Email'] == 'soc@example.com'
    assert headers['X-Auth-Key'] == 'global-key-123'
    assert 'Authorization' not in headers


def test_user_agent_names_the_collection_and_its_version(stub_api):
    stub_api.add(Reply(200, envelope([])))
    client = make_client(stub_api)
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert re.match(r'^ansible-collection-cloudflare\.pcap/%s ' % re.escape(_client.COLLECTION_VERSION),
                    stub_api.requests[0]['headers']['User-Agent'])


def test_collection_version_matches_galaxy_yml():
    with open(os.path.join(COLLECTION_ROOT, 'galaxy.yml'), encoding='utf-8') as galaxy:
        version = re.search(r'^version:\s*(\S+)', galaxy.read(), re.MULTILINE).group(1)
    assert _client.COLLECTION_VERSION == version


def test_error_envelope_becomes_one_line_message_with_status_and_codes(stub_api):
    stub_api.add(Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])))
    with pytest.raises(CloudflareAPIError) as caught:
        get_capture(make_client(stub_api))
    error = caught.value
    assert error.message == 'Get packet capture failed: HTTP 403 Forbidden, Cloudflare error 10000: Authentication error'
    assert '\n' not in error.message
    assert error.as_result() == {'status_code': 403, 'error_codes': [10000],
                                 'errors': [{'code': 10000, 'message': 'Authentication error'}]}
    assert len(stub_api.requests) == 1  # 403 is not worth a retry


def test_success_false_with_status_200_is_an_error(stub_api):
    stub_api.add(Reply(200, envelope(None, False, [{'code': 1001, 'message': 'bad'}])))
    with pytest.raises(CloudflareAPIError, match='Cloudflare error 1001: bad'):
        get_capture(make_client(stub_api))


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


def test_retry_after_is_reported(stub_api):
    stub_api.add(Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one per minute'}]),
                       headers={'Retry-After': '42'}))
    client = make_client(stub_api)
    before = time.time()
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert caught.value.retry_after == 42
    assert caught.value.message.endswith('retry after 42 s')
    assert not caught.value.locked_out and 'refusing' not in caught.value.message  # 42 s is not the lock-out
    assert before + 42 <= utc_seconds(caught.value.as_result()['retry_at']) <= time.time() + 43


def test_lock_out_fails_at_once_with_the_time_calls_work_again(stub_api):
    fake_time = FakeTime()
    seen = []
    stub_api.add(limited(300), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time, retries=3, on_retry=lambda *args: seen.append(args))
    before = time.time()
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    after = time.time()
    error = caught.value
    assert len(stub_api.requests) == 1 and fake_time.slept == [] and seen == []
    match = re.match(r"^List packet captures failed: Cloudflare is refusing this credential's calls \(rate limit\) "
                     r"until (\S+), HTTP 429 Too Many Requests, Cloudflare error 10429: Rate limited, retry after 300 s$",
                     error.message)
    assert match, error.message
    assert before + 300 <= utc_seconds(match.group(1)) <= after + 301
    assert error.locked_out and not error.outcome_unknown
    assert error.as_result() == {'status_code': 429, 'error_codes': [10429], 'errors': [{'code': 10429, 'message': 'Rate limited'}],
                                 'retry_after': 300, 'retry_at': match.group(1)}


def test_a_retry_after_longer_than_the_client_waits_is_not_waited_for(stub_api):
    # 90 s would fit the 120 s budget, but is more than RETRY_AFTER_CAP: the old client waited 60 s and tried again.
    fake_time = FakeTime()
    stub_api.add(limited(90), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(stub_api.requests) == 1 and fake_time.slept == []
    assert caught.value.locked_out and caught.value.message.endswith('Cloudflare error 10429: Rate limited, retry after 90 s')


def test_lock_out_as_an_http_date_fails_at_once(stub_api):
    later = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=240)
    stub_api.add(limited(email.utils.format_datetime(later, usegmt=True)), Reply(200, envelope([])))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(stub_api.requests) == 1
    assert caught.value.retry_at == later.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_lock_out_on_create_is_said_and_not_an_unknown_outcome(stub_api):
    stub_api.add(limited(300), Reply(200, envelope({'id': CAPTURE_ID})))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert len(stub_api.requests) == 1
    assert caught.value.message.startswith("Create packet capture failed: Cloudflare is refusing this credential's calls "
                                           "(rate limit) until ")
    assert not caught.value.outcome_unknown


@pytest.mark.parametrize('retry_after, waited', [('2', 2.0), ('60', 60.0), ('0', None)])
def test_retry_after_within_the_budget_is_waited_for(stub_api, retry_after, waited):
    fake_time = FakeTime()
    stub_api.add(limited(retry_after), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    assert client.request('GET', client.account_path('pcaps'), 'List packet captures') == []
    assert len(stub_api.requests) == 2
    if waited is None:  # Retry-After: 0 falls back to the first backoff step, full jitter below BACKOFF_BASE
        assert len(fake_time.slept) <= 1 and sum(fake_time.slept) <= _client.BACKOFF_BASE
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
    assert client.set_deadline(10) == fake_time.now + 10 == client.deadline
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
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
    client.set_deadline(10)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
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
    monkeypatch.setattr(_client, 'BACKOFF_BASE', 5.0)
    monkeypatch.setattr(_client, 'BACKOFF_CAP', 40.0)
    monkeypatch.setattr(_client.random, 'uniform', lambda low, high: high)  # the longest wait full jitter can draw
    fake_time = FakeTime()
    stub_api.add(*[limited(status=502, code=1, message='bad gateway')] * 12)
    client = make_client(stub_api, fake_time, retries=10)
    client.set_deadline(deadline)
    start = fake_time.now
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
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
    client = make_client(stub_api)
    client.set_deadline(0)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(stub_api.requests) == 1
    assert re.match(r'^List packet captures failed: connection to \S+ failed \(.*\); deadline spent: 0 s left, the next try '
                    r'would wait [0-9.]+ s$', caught.value.message), caught.value.message


def test_the_deadline_can_be_cleared(stub_api):
    fake_time = FakeTime()
    stub_api.add(limited(30), Reply(200, envelope([])))
    client = make_client(stub_api, fake_time)
    client.set_deadline(10)
    assert client.set_deadline(None) is None and client.deadline is None
    assert client.request('GET', client.account_path('pcaps'), 'List packet captures') == []
    assert fake_time.slept == [30.0]


def test_html_error_page_is_a_clear_error_not_a_traceback(stub_api):
    stub_api.add(*[Reply(502, HTML_502, kind='raw', headers={'Content-Type': 'text/html'})] * 3)
    with pytest.raises(CloudflareAPIError) as caught:
        get_capture(make_client(stub_api))
    message = caught.value.message
    assert message.startswith('Get packet capture failed: HTTP 502 Bad Gateway')
    assert "an HTML page ('api.cloudflare.com | 502: Bad gateway') instead of JSON" in message
    assert '<html' not in message


@pytest.mark.parametrize('body, expected', [
    (b'{"success": true, "result": ', 'not valid JSON'),
    (b'', 'empty body'),
    (b'[1, 2]', 'not valid JSON'),
])
def test_malformed_answers_are_clear_errors(stub_api, body, expected):
    stub_api.add(Reply(200, body, kind='raw', headers={'Content-Type': 'application/json'}))
    with pytest.raises(CloudflareAPIError, match=expected):
        get_capture(make_client(stub_api, retries=0))


def test_connection_reset_on_post_is_an_unknown_outcome_and_not_retried(stub_api):
    stub_api.add(Reply(kind='reset'), Reply(200, envelope({'id': CAPTURE_ID})))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert caught.value.outcome_unknown
    assert len(stub_api.requests) == 1
    assert 'Create packet capture failed: connection to' in caught.value.message


def test_connection_reset_on_get_is_retried(stub_api):
    stub_api.add(Reply(kind='reset'), Reply(200, envelope({'id': CAPTURE_ID})))
    assert get_capture(make_client(stub_api)) == {'id': CAPTURE_ID}


def test_slow_answer_times_out_with_a_clear_message(stub_api):
    stub_api.add(Reply(200, envelope([]), delay=1.5))
    client = make_client(stub_api, timeout=0.5, retries=0)
    with pytest.raises(CloudflareAPIError, match=r'no answer from http://127\.0\.0\.1:\d+/client/v4 within 0\.5 s'):
        client.request('GET', client.account_path('pcaps'), 'List packet captures')


def test_refused_connection_is_not_an_unknown_outcome():
    client = CloudflareClient(account_id=ACCOUNT_ID, base_url='http://127.0.0.1:9', api_token=TOKEN, retries=0)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert not caught.value.outcome_unknown
    assert 'cannot connect to http://127.0.0.1:9' in caught.value.message


def test_secrets_echoed_by_the_server_are_masked(stub_api):
    stub_api.add(Reply(400, envelope(None, False, [{'code': 6003, 'message': 'Invalid token %s' % TOKEN}])))
    with pytest.raises(CloudflareAPIError) as caught:
        get_capture(make_client(stub_api))
    assert TOKEN not in caught.value.message
    assert TOKEN not in str(caught.value.as_result())
    assert '********' in caught.value.message


def test_no_content_returns_none(stub_api):
    stub_api.add(Reply(204))
    client = make_client(stub_api)
    assert client.request('PUT', client.account_path('pcaps', CAPTURE_ID, 'stop'), 'Stop packet capture') is None


@pytest.mark.parametrize('segment', ['../../zones', 'x/y', CAPTURE_ID + '?', '', 'ABC DEF'])
def test_path_segments_must_be_ids_or_route_words(stub_api, segment):
    with pytest.raises(ValueError):
        make_client(stub_api).account_path('pcaps', segment)


def test_account_id_is_validated():
    with pytest.raises(ValueError):
        CloudflareClient(account_id='../etc', api_token=TOKEN)


def test_retries_stop_when_the_time_budget_is_spent(stub_api, monkeypatch):
    monkeypatch.setattr(_client, 'RETRY_BUDGET', 0.0)
    stub_api.add(*[Reply(503, envelope(None, False, [{'code': 7, 'message': 'unavailable'}]))] * 5)
    with pytest.raises(CloudflareAPIError, match='HTTP 503'):
        get_capture(make_client(stub_api, retries=4))
    assert len(stub_api.requests) == 1  # without budget there is no second attempt, whatever `retries` says


def test_an_unreadable_success_answer_is_an_unknown_outcome(stub_api):
    stub_api.add(Reply(200, b'{"success": tr', kind='raw', headers={'Content-Type': 'application/json'}))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert caught.value.outcome_unknown


def test_retry_after_as_an_http_date(stub_api):
    later = email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=90),
                                        usegmt=True)
    stub_api.add(Reply(429, envelope(None, False, [{'code': 1008, 'message': 'later'}]), headers={'Retry-After': later}))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert 85 <= caught.value.retry_after <= 91


@pytest.mark.parametrize('ratelimit, policy, expected', [
    ('"default";r=50;t=30', '"default";q=100;w=60', RateLimit('default', 50, 30.0, 100, 60.0, 7.0)),
    ('"default";r=50;t=30', None, RateLimit('default', 50, 30.0, None, None, 7.0)),
    ('default;r=0;t=12.5', 'default;q=1200;w=300', RateLimit('default', 0, 12.5, 1200, 300.0, 7.0)),
    # Several limits: the tightest (fewest requests per second left) is kept, with the policy of its name.
    ('"default";r=900;t=200, "burst";r=2;t=10', '"default";q=1200;w=300, "burst";q=10;w=10',
     RateLimit('burst', 2, 10.0, 10, 10.0, 7.0)),
    ('"a";r=9;t=1,"b";r=0;t=3,"c";r=0;t=2', None, RateLimit('b', 0, 3.0, None, None, 7.0)),
    # Unreadable items and parameters are left out; what can be read is kept.
    ('garbage, "default";r=5;t=60;x=@@', '"default";q=oops;w=60', RateLimit('default', 5, 60.0, None, 60.0, 7.0)),
    ('"x";r=abc;t=5, "y";r=3;t=9', '', RateLimit('y', 3, 9.0, None, None, 7.0)),
    ('"with, comma; inside";r=4;t=8', '"with, comma; inside";q=40;w=80', RateLimit('with, comma; inside', 4, 8.0, 40, 80.0, 7.0)),
])
def test_rate_limit_headers_are_read(ratelimit, policy, expected):
    assert parse_rate_limit(ratelimit, policy, at=7.0) == expected


@pytest.mark.parametrize('ratelimit', [None, '', 'nonsense', ';;;', ',,', '"default";r=-1;t=5', '"default";r=5', '"default";t=5',
                                       '"default";r=1.5;t=5', '"default";r=5;t=-1', '"unterminated;r=1;t=1', '"d";r=?1;t=1',
                                       '"d";r="5";t=1', 42])
def test_unreadable_rate_limit_headers_give_no_reading(ratelimit):
    assert parse_rate_limit(ratelimit, '"default";q=100;w=60') is None


def test_the_client_keeps_the_latest_reading_of_every_answer(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    assert client.rate_limit is None
    stub_api.headers = {'Ratelimit': '"default";r=50;t=30', 'Ratelimit-Policy': '"default";q=1200;w=300'}
    stub_api.add(Reply(200, envelope([])))
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert client.rate_limit == RateLimit('default', 50, 30.0, 1200, 300.0, 1000.0)
    # A retried answer is read too; an answer without the headers (here the last one) keeps the reading.
    stub_api.headers = {}
    stub_api.add(Reply(429, envelope(None, False), headers={'Retry-After': '3', 'Ratelimit': '"default";r=0;t=3'}),
                 Reply(200, envelope([])))
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert client.rate_limit == RateLimit('default', 0, 3.0, None, None, 1000.0)
    assert fake_time.slept == [3.0]
    # An error answer that is not retried is read as well.
    stub_api.add(Reply(403, envelope(None, False), headers={'Ratelimit': '"default";r=7;t=99'}))
    with pytest.raises(CloudflareAPIError):
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert client.rate_limit.remaining == 7


def test_a_streamed_download_is_read_too(stub_api):
    headers = {'Content-Type': 'application/vnd.tcpdump.pcap', 'Ratelimit': '"default";r=11;t=22'}
    stub_api.add(Reply(200, b'\xd4\xc3\xb2\xa1', kind='raw', headers=headers))
    client = make_client(stub_api)
    chunks = []
    client.download(client.account_path('pcaps', CAPTURE_ID, 'download'), 'Download packet capture', chunks.append, '*/*')
    assert client.rate_limit.remaining == 11


def paced_client(stub_api, fake_time, reading):
    client = make_client(stub_api, fake_time)
    client.rate_limit = reading
    return client


@pytest.mark.parametrize('reading, later, expected', [
    (None, 0, 0.0),
    # Plenty left: no pause (more than a quarter of the quota, or more than 100 requests without a policy).
    (RateLimit('default', 301, 200.0, 1200, 300.0, 1000.0), 0, 0.0),
    (RateLimit('default', 101, 200.0, None, None, 1000.0), 0, 0.0),
    # Little left: the time to the reset spread over the requests left.
    (RateLimit('default', 300, 150.0, 1200, 300.0, 1000.0), 0, 0.5),
    (RateLimit('default', 10, 60.0, 1200, 300.0, 1000.0), 0, 6.0),
    (RateLimit('default', 10, 60.0, 1200, 300.0, 1000.0), 20, 4.0),
    (RateLimit('default', 100, 50.0, None, None, 1000.0), 0, 0.5),
    (RateLimit('default', 1, 45.0, 100, 60.0, 1000.0), 0, 45.0),
    # None left: until the reset.
    (RateLimit('default', 0, 300.0, 1200, 300.0, 1000.0), 0, 300.0),
    (RateLimit('default', 0, 300.0, 1200, 300.0, 1000.0), 120, 180.0),
    # The window has reset since the reading: no pause.
    (RateLimit('default', 0, 30.0, 1200, 300.0, 1000.0), 30, 0.0),
    (RateLimit('default', 3, 30.0, 1200, 300.0, 1000.0), 31, 0.0),
])
def test_pace(stub_api, reading, later, expected):
    fake_time = FakeTime()
    client = paced_client(stub_api, fake_time, reading)
    fake_time.now += later
    assert client.pace() == pytest.approx(expected)


def test_pace_follows_the_headers_of_the_answers(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    stub_api.headers = {'Ratelimit': '"default";r=20;t=100', 'Ratelimit-Policy': '"default";q=1200;w=300'}
    stub_api.add(Reply(200, envelope([])))
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert client.pace() == pytest.approx(5.0)


def test_a_waiter_paced_by_the_client_slows_down_before_the_quota_is_spent(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    # Each answer: 1,200 a window, the quota running low, the window resetting 60 s after each answer.
    for remaining in (40, 4, 3, 2, 1):
        stub_api.add(Reply(200, envelope({'id': CAPTURE_ID, 'status': 'running'}),
                           headers={'Ratelimit': '"default";r=%d;t=60' % remaining, 'Ratelimit-Policy': '"default";q=1200;w=300'}))
    waiter = Waiter(100, clock=fake_time.clock, sleep=fake_time.sleep, pace=client.pace)
    with pytest.raises(WaitTimeout):
        waiter.wait(lambda: get_capture(client), lambda capture: False)
    # 40 left: the waiter's own 2 s; then 60 s spread over the 4, 3, 2 left; with 1 left the next poll would come
    # after the timeout, so the waiter sleeps out the 33 s left and gives up without spending it.
    assert fake_time.slept == [2.0, 15.0, 20.0, 30.0, 33.0]
    assert waiter.polls == 5 and len(stub_api.requests) == 5
