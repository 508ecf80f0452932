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

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils import _client
from ansible_collections.cloudflare.pcap.plugins.module_utils._client import CloudflareAPIError, CloudflareClient

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope

COLLECTION_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
HTML_502 = b'<!DOCTYPE html><html><head><title>api.cloudflare.com | 502: Bad gateway</title></head><body>x</body></html>'


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    # Retries are about whether, not how long; keep the suite fast.
    monkeypatch.setattr(_client, 'BACKOFF_BASE', 0.0)


def make_client(stub_api, **kwargs):
    options = dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, retries=2, timeout=5)
    options.update(kwargs)
    return CloudflareClient(**options)


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
    with pytest.raises(CloudflareAPIError) as caught:
        client.request('POST', client.account_path('pcaps'), 'Create packet capture', body={})
    assert caught.value.retry_after == 42
    assert caught.value.message.endswith('retry after 42 s')


def test_retry_after_is_honoured_and_capped(stub_api, monkeypatch):
    monkeypatch.setattr(_client, 'RETRY_AFTER_CAP', 0.2)
    stub_api.add(Reply(429, envelope(None, False), headers={'Retry-After': '3600'}), Reply(200, envelope([])))
    client = make_client(stub_api)
    client.request('GET', client.account_path('pcaps'), 'List packet captures')
    assert len(stub_api.requests) == 2


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
