# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP client against a real HTTP server on loopback (tests/unit/conftest.py): auth, envelope, errors, lock-out
reporting, the rate-limit reading it keeps."""

from __future__ import annotations

import datetime
import email.utils
import os
import re
import time

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import client as _client
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import CloudflareClient
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.rate_limit import RateLimit

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._api.fakes import FakeTime, get_capture, limited, make_client, utc_seconds

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..'))
HTML_502 = b'<!DOCTYPE html><html><head><title>api.cloudflare.com | 502: Bad gateway</title></head><body>x</body></html>'


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


def test_the_client_keeps_the_latest_reading_of_every_answer(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    assert client.rate_limit is None
    stub_api.headers = {'Ratelimit': '"default";r=500;t=30', 'Ratelimit-Policy': '"default";q=1200;w=300'}
    stub_api.add(Reply(200, envelope([])))
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert client.rate_limit == RateLimit('default', 500, 30.0, 1200, 300.0, 1000.0)
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


@pytest.mark.parametrize('draw, pause', [(0.0, 40.0), (0.5, 55.0)])
def test_once_down_to_the_reserve_the_next_request_waits_for_the_reset_with_jitter(stub_api, draw, pause):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time, jitter_source=lambda: draw)
    stub_api.headers = {'Ratelimit': '"default";r=250;t=40', 'Ratelimit-Policy': '"default";q=1200;w=300'}
    stub_api.add(Reply(200, envelope([])), Reply(200, envelope([])))
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert fake_time.slept == [] and client.pause() == pytest.approx(pause)
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert fake_time.slept == [pytest.approx(pause)] and len(stub_api.requests) == 2


def test_a_request_whose_deadline_comes_before_the_reset_is_not_sent(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    stub_api.headers = {'Ratelimit': '"default";r=3;t=40', 'Ratelimit-Policy': '"default";q=40;w=60'}
    stub_api.add(Reply(200, envelope([])))
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('GET', client.account_path('pcaps'), 'List packet captures', deadline=fake_time.now + 10)
    assert "not sent: the credential's rate-limit quota is down to the reserve" in caught.value.message
    assert 'resets 50 s after' in caught.value.message
    assert fake_time.slept == [] and len(stub_api.requests) == 1


@pytest.mark.parametrize('retry_after, locked_out', [(60, False), (61, True)])
def test_a_create_answered_429_is_a_lock_out_beyond_60_s(stub_api, retry_after, locked_out):
    # A create is never retried, so the client judges the Retry-After alone: up to RETRY_AFTER_CAP it is a wait.
    stub_api.add(limited(retry_after))
    client = make_client(stub_api)
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert caught.value.locked_out is locked_out
    assert ("Cloudflare is refusing this credential's calls" in caught.value.message) is locked_out
    assert caught.value.retry_after == retry_after


def test_the_polls_of_a_wait_carry_its_deadline_downloads_too(stub_api):
    fake_time = FakeTime()
    stub_api.add(limited(30, status=503, code=7, message='unavailable'))
    client = make_client(stub_api, fake_time)
    with pytest.raises(CloudflareAPIError) as caught:
        client.until(fake_time.now + 5).download(client.account_path('pcaps', CAPTURE_ID, 'download'),
                                                 'Download packet capture', lambda chunk: None, '*/*')
    assert fake_time.slept == [] and 'deadline spent: 5 s left' in caught.value.message
