# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_request run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.cloudflare.pcap.plugins.modules import capture_request
from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope, run_module

BUCKET = 'r2://pcaps?account-id=0123&access-key-id=AKIAEXAMPLE&secret-access-key=TOPSECRETVALUE'
DOCUMENTED = yaml.safe_load(capture_request.RETURN)


def created(**fields):
    capture = {'id': CAPTURE_ID, 'status': 'pending', 'submitted': '2026-11-27T08:00:00Z', 'type': 'simple',
               'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100}
    capture.update(fields)
    return Reply(200, envelope(capture))


def test_creates_a_capture_and_returns_id_status_pcap_request(stub_api, connection_args, capsys):
    stub_api.add(created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           filter_v1={'destination_port': 443}), capsys)
    assert not failed
    assert result['changed'] is True
    assert result['id'] == CAPTURE_ID and result['status'] == 'pending'
    assert result['pcap']['id'] == CAPTURE_ID
    expected_body = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100,
                     'filter_v1': {'destination_port': 443}}
    assert result['request'] == expected_body
    assert [(r['method'], r['body']) for r in stub_api.requests] == [('POST', expected_body)]
    assert stub_api.requests[0]['path'] == '/client/v4/accounts/%s/pcaps' % ACCOUNT_ID


def test_check_mode_validates_and_sends_nothing(stub_api, connection_args, capsys):
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is True
    assert result['request']['packet_limit'] == 100
    assert 'id' not in result
    assert stub_api.requests == []


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('args, option', [
    (dict(time_limit=301, packet_limit=10), 'time_limit'),
    (dict(time_limit=60), 'packet_limit'),
    (dict(time_limit=60, packet_limit=10, colo_name='ord02'), 'colo_name'),
    (dict(type='full', time_limit=60, destination_conf=BUCKET), 'colo_name'),
    (dict(time_limit=60, packet_limit=10, filter_v1={'source_address': 'not-an-ip'}), 'filter_v1.source_address'),
    (dict(time_limit=60, packet_limit=10, offset_time='2001-01-01T00:00:00Z'), 'offset_time'),
])
def test_bad_input_fails_naming_the_option_and_sends_nothing(stub_api, connection_args, capsys, args, option, check_mode):
    failed, result = run_module(capture_request.main, dict(connection_args, _ansible_check_mode=check_mode, **args), capsys)
    assert failed
    assert result['msg'].startswith(option + ': ')
    assert stub_api.requests == []


@pytest.mark.parametrize('args, option', [
    (dict(account_id='1234'), 'account_id'),
    (dict(account_id='../../zones/' + 'a' * 20), 'account_id'),
    (dict(base_url='ftp://example.com'), 'base_url'),
    (dict(api_token=None), 'api_token'),
    (dict(api_email='soc@example.com'), 'api_token'),
    (dict(api_token=None, api_email='soc@example.com'), 'api_key'),
    (dict(timeout=0), 'timeout'),
])
def test_bad_connection_options_fail_before_any_request(stub_api, connection_args, capsys, args, option):
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=10, **args), capsys)
    assert failed
    assert result['msg'].startswith(option + ': ')
    assert stub_api.requests == []


def test_api_error_reports_status_codes_and_sends_once(stub_api, connection_args, capsys):
    stub_api.add(Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one simple capture per minute'}]),
                       headers={'Retry-After': '37'}))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed and result['changed'] is False
    assert result['msg'] == ('Create packet capture failed: HTTP 429 Too Many Requests, Cloudflare error 1008: '
                             'one simple capture per minute, retry after 37 s')
    assert result['status_code'] == 429 and result['error_codes'] == [1008] and result['retry_after'] == 37
    assert len(stub_api.requests) == 1


def test_bucket_secrets_never_appear_in_the_result(stub_api, connection_args, capsys):
    stub_api.add(created(type='full', destination_conf=BUCKET, colo_name='ord02'))
    failed, result = run_module(capture_request.main, dict(connection_args, type='full', time_limit=300,
                                                           colo_name='ord02', destination_conf=BUCKET), capsys)
    assert not failed
    assert stub_api.requests[0]['body']['destination_conf'] == BUCKET
    assert 'TOPSECRETVALUE' not in repr(result) and TOKEN not in repr(result)
    assert result['request']['destination_conf'] == 'r2://pcaps?********'
    assert result['pcap']['destination_conf'] == 'r2://pcaps?********'


def test_success_without_a_capture_object_is_an_error(stub_api, connection_args, capsys):
    stub_api.add(Reply(200, envelope(None)))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed
    assert 'without a capture object' in result['msg']


def documented_for(outcome):
    """RETURN keys that the docs promise for an outcome (success / failure / check mode)."""
    keys = set()
    for key, doc in DOCUMENTED.items():
        returned = doc['returned']
        if returned == 'always' or returned.startswith(outcome) or (outcome == 'success' and 'success' in returned):
            if outcome == 'check' and 'except in check mode' in returned:
                continue
            keys.add(key)
    return keys


def returned_keys(result):
    return set(result) - {'changed', 'msg', 'failed', 'invocation', 'warnings', 'deprecations', 'exception'}


def test_return_documentation_matches_a_success(stub_api, connection_args, capsys):
    stub_api.add(created())
    _failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert returned_keys(result) == documented_for('success')
    for key in returned_keys(result):
        assert isinstance(result[key], {'str': str, 'dict': dict, 'list': list, 'int': int}[DOCUMENTED[key]['type']])


def test_return_documentation_matches_check_mode(stub_api, connection_args, capsys):
    _failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                            _ansible_check_mode=True), capsys)
    assert returned_keys(result) == {key for key, doc in DOCUMENTED.items() if doc['returned'] == 'always'}


def test_return_documentation_matches_an_api_failure(stub_api, connection_args, capsys):
    stub_api.add(Reply(429, envelope(None, False, [{'code': 1008, 'message': 'x'}]), headers={'Retry-After': '5'}))
    _failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    documented_failure = {key for key, doc in DOCUMENTED.items() if doc['returned'].startswith('failure')}
    assert returned_keys(result) == documented_failure | {'request'}
