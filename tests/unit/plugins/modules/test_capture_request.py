# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_request run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from ansible_collections.cloudflare.pcap.plugins.modules import capture_request
from ansible_collections.cloudflare.pcap.tests.unit.helpers import (
    ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope, run_module, untagged, warning_texts,
)

BUCKET = 'r2://pcaps?account-id=0123&access-key-id=AKIAEXAMPLE&secret-access-key=TOPSECRETVALUE'
DOCUMENTED = yaml.safe_load(capture_request.RETURN)


OTHER_ID = 'ffffffffffffffffffffffffffffffff'


def capture_record(**fields):
    capture = {'id': CAPTURE_ID, 'status': 'pending', 'submitted': '2026-11-27T08:00:00Z', 'type': 'simple',
               'system': 'magic-transit', 'time_limit': 60}  # pcaps_response_simple: no packet_limit
    capture.update(fields)
    return capture


def created(**fields):
    return Reply(200, envelope(capture_record(**fields)))


def listed(*captures):
    return Reply(200, envelope(list(captures)))


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
    monkeypatch.setattr(_waiter, 'FIRST_INTERVAL', 0.01)
    monkeypatch.setattr(_waiter, 'MAX_INTERVAL', 0.01)


def test_creates_a_capture_and_returns_id_status_capture_request(stub_api, connection_args, capsys):
    stub_api.add(listed(), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           filter_v1={'destination_port': 443}), capsys)
    assert not failed
    assert result['changed'] is True
    assert result['id'] == CAPTURE_ID and result['status'] == 'pending'
    assert result['capture']['id'] == CAPTURE_ID
    expected_body = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100,
                     'filter_v1': {'destination_port': 443}}
    assert result['request'] == expected_body
    assert [(r['method'], r['body']) for r in stub_api.requests] == [('GET', None), ('POST', expected_body)]
    assert stub_api.requests[1]['path'] == '/client/v4/accounts/%s/pcaps' % ACCOUNT_ID


def test_pcap_is_the_capture_under_its_deprecated_name(stub_api, connection_args, capsys):
    stub_api.add(listed(), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert not failed
    assert untagged(result)['pcap'] == result['capture'] == capture_record()


def test_pcap_is_tagged_deprecated_until_0_2_0_where_ansible_core_can_tag():
    keys = capture_request._capture_keys(capture_record(destination_conf=BUCKET))
    assert keys['pcap'] == keys['capture'] and 'TOPSECRETVALUE' not in repr(keys)
    try:
        from ansible.module_utils._internal._datatag import _tags as tags
    except ImportError:  # before ansible-core 2.19 nothing can be tagged: the RETURN docs say it, the value stays
        assert capture_request.deprecate_value is None and isinstance(keys['pcap'], dict)
        return
    deprecation = tags.Deprecated.get_tag(keys['pcap'])
    assert deprecation.version == '0.2.0' and deprecation.deprecator.resolved_name == 'cloudflare.pcap'
    assert 'capture' in deprecation.help_text
    assert tags.Deprecated.get_tag(keys['capture']) is None


def test_check_mode_validates_reads_the_list_once_and_requests_nothing(stub_api, connection_args, capsys):
    stub_api.add(listed(capture_record(status='success')))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is True
    assert result['request']['packet_limit'] == 100
    assert 'id' not in result
    assert [(r['method'], r['path']) for r in stub_api.requests] == [('GET', '/client/v4/accounts/%s/pcaps' % ACCOUNT_ID)]


def test_check_mode_predicts_the_reuse_of_an_identical_capture_in_progress(stub_api, connection_args, capsys):
    stub_api.add(listed(capture_record(status='running')))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           wait=True, _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is False
    assert result['id'] == CAPTURE_ID and result['status'] == 'running' and result['capture']['id'] == CAPTURE_ID
    assert [r['method'] for r in stub_api.requests] == ['GET']  # no wait in check mode


def test_check_mode_with_force_predicts_a_new_capture(stub_api, connection_args, capsys):
    stub_api.add(listed(capture_record(status='running')))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           force=True, _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is True and 'id' not in result
    assert [r['method'] for r in stub_api.requests] == ['GET']


@pytest.mark.parametrize('reply, expected', [
    (Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])),
     'List packet captures failed: HTTP 403 Forbidden, Cloudflare error 10000: Authentication error, check mode '
     'verifies the credentials and the account by reading the capture list; check the credential and account_id'),
    (Reply(400, envelope(None, False, [{'code': 7003, 'message': 'Could not route'}])),
     'List packet captures failed: HTTP 400 Bad Request, Cloudflare error 7003: Could not route, check mode verifies '
     'the credentials and the account by reading the capture list; check account_id and base_url'),
])
def test_check_mode_fails_on_credentials_that_a_real_run_would_fail_on(stub_api, connection_args, capsys, reply,
                                                                       expected):
    stub_api.add(reply)
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           _ansible_check_mode=True), capsys)
    assert failed and result['changed'] is False
    assert result['msg'].startswith(expected)
    assert result['status_code'] == reply.status and result['request']['time_limit'] == 60
    assert 'force=true requests' not in result['msg']
    assert [r['method'] for r in stub_api.requests] == ['GET']


def test_check_mode_warns_when_the_last_simple_capture_is_less_than_a_minute_old(stub_api, connection_args, capsys):
    just_now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - 5))
    stub_api.add(listed(capture_record(id=OTHER_ID, status='success', submitted=just_now)))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is True
    assert any(text.startswith('Simple capture %s was submitted at %s, less than a minute ago' % (OTHER_ID, just_now))
               for text in warning_texts(result))


def test_check_mode_does_not_warn_about_a_simple_capture_older_than_a_minute(stub_api, connection_args, capsys):
    stub_api.add(listed(capture_record(id=OTHER_ID, status='success', submitted='2026-01-01T00:00:00Z')))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           _ansible_check_mode=True), capsys)
    assert not failed and not warning_texts(result)


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('args, option', [
    (dict(time_limit=301, packet_limit=10), 'time_limit'),
    (dict(time_limit=60, packet_limit=10, colo_name='ord02'), 'colo_name'),
    (dict(type='full', time_limit=60, colo_name=' ', destination_conf=BUCKET), 'colo_name'),
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
    (dict(api_token=''), 'api_token'),
    (dict(timeout=0), 'timeout'),
    (dict(api_token=TOKEN + '\n'), 'api_token'),
    (dict(api_email='soc@example.com', api_key='key with space'), 'api_key'),
])
def test_bad_connection_options_fail_before_any_request(stub_api, connection_args, capsys, args, option):
    given = dict(connection_args, time_limit=60, packet_limit=10, **args)
    if 'api_key' in args:
        del given['api_token']
    failed, result = run_module(capture_request.main, given, capsys)
    assert failed
    assert result['msg'].startswith(option + ': ')
    assert stub_api.requests == []


GLOBAL_KEY = 'global-api-key-0123456789abcdef'  # long enough not to be censored inside the messages


# The constraints declared in _module.py's COMMON_CONSTRAINTS and capture_request's required_if, as ansible-core
# words them; the env fallbacks count as given (ansible-core applies them before the checks).
@pytest.mark.parametrize('remove, add, environment, message', [
    (['account_id'], {}, {}, 'missing required arguments: account_id'),
    (['api_token'], {}, {}, 'one of the following is required: api_token, api_token_file, api_email, api_key'),
    ([], {'api_email': 'soc@example.com'}, {}, 'parameters are mutually exclusive: api_token|api_email'),
    ([], {}, {'CLOUDFLARE_API_KEY': GLOBAL_KEY}, 'parameters are mutually exclusive: api_token|api_key'),
    (['api_token'], {'api_email': 'soc@example.com'}, {}, 'parameters are required together: api_email, api_key'),
    (['api_token'], {}, {'CLOUDFLARE_API_KEY': GLOBAL_KEY}, 'parameters are required together: api_email, api_key'),
    (['packet_limit'], {}, {}, 'type is simple but all of the following are missing: packet_limit'),
    (['packet_limit'], {'type': 'full', 'destination_conf': BUCKET}, {},
     'type is full but all of the following are missing: colo_name'),
    (['packet_limit'], {'type': 'full'}, {}, 'type is full but all of the following are missing: colo_name, destination_conf'),
], ids=['account_id', 'no credentials', 'token and email', 'token and key from the environment', 'email without key',
        'key from the environment without email', 'simple without packet_limit', 'full without colo_name',
        'full without either'])
def test_declared_constraints_fail_before_any_request(stub_api, connection_args, capsys, monkeypatch, remove, add,
                                                      environment, message):
    given = dict(connection_args, time_limit=60, packet_limit=10, **add)
    for option in remove:
        del given[option]
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    failed, result = run_module(capture_request.main, given, capsys)
    assert failed and result['msg'] == message
    assert stub_api.requests == []


@pytest.mark.parametrize('environment', [{'CLOUDFLARE_ACCOUNT_ID': ACCOUNT_ID, 'CLOUDFLARE_API_TOKEN': TOKEN},
                                         {'CLOUDFLARE_ACCOUNT_ID': ACCOUNT_ID, 'CLOUDFLARE_EMAIL': 'soc@example.com',
                                          'CLOUDFLARE_API_KEY': GLOBAL_KEY}], ids=['token', 'email and key'])
def test_the_environment_satisfies_the_declared_constraints(stub_api, connection_args, capsys, monkeypatch, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    stub_api.add(listed())  # check mode reads the capture list once
    given = dict(base_url=connection_args['base_url'], time_limit=60, packet_limit=10, _ansible_check_mode=True)
    failed, result = run_module(capture_request.main, given, capsys)
    assert not failed and result['request']['packet_limit'] == 10, result


def test_api_error_reports_status_codes_and_sends_once(stub_api, connection_args, capsys):
    limited = Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one simple capture per minute'}]),
                    headers={'Retry-After': '37'})
    # The second listing looks for an identical capture that a parallel task may have created meanwhile.
    stub_api.add(listed(), limited, listed())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed and result['changed'] is False
    assert result['msg'] == ('Create packet capture failed: HTTP 429 Too Many Requests, Cloudflare error 1008: '
                             'one simple capture per minute, retry after 37 s')
    assert result['status_code'] == 429 and result['error_codes'] == [1008] and result['retry_after'] == 37
    assert [r['method'] for r in stub_api.requests] == ['GET', 'POST', 'GET']


def test_bucket_secrets_never_appear_in_the_result(stub_api, connection_args, capsys):
    stub_api.add(listed(), created(type='full', destination_conf=BUCKET, colo_name='ord02'))
    failed, result = run_module(capture_request.main, dict(connection_args, type='full', time_limit=300,
                                                           colo_name='ord02', destination_conf=BUCKET), capsys)
    assert not failed
    assert stub_api.requests[1]['body']['destination_conf'] == BUCKET
    assert 'TOPSECRETVALUE' not in repr(result) and TOKEN not in repr(result)
    assert result['request']['destination_conf'] == 'r2://pcaps?********'
    assert result['capture']['destination_conf'] == 'r2://pcaps?********'


def test_success_without_a_capture_object_is_an_error(stub_api, connection_args, capsys):
    stub_api.add(listed(), Reply(200, envelope(None)), listed())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed
    assert 'without a capture object' in result['msg']


def documented_for(outcome):
    """RETURN keys whose `returned` names the outcome (or says always)."""
    return {key for key, doc in DOCUMENTED.items() if doc['returned'] == 'always' or outcome in doc['returned']}


def returned_keys(result):
    return set(result) - {'changed', 'msg', 'failed', 'invocation', 'warnings', 'deprecations', 'exception'}


def test_return_documentation_matches_a_success(stub_api, connection_args, capsys):
    stub_api.add(listed(), created(), created(status='running'), created(status='success'))
    _failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                            wait=True), capsys)
    assert returned_keys(result) == documented_for('success')
    for key in returned_keys(result):
        assert isinstance(result[key], {'str': str, 'dict': dict, 'list': list, 'int': int, 'float': float}[DOCUMENTED[key]['type']])


def test_return_documentation_matches_check_mode(stub_api, connection_args, capsys):
    stub_api.add(listed())
    _failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                            _ansible_check_mode=True), capsys)
    assert returned_keys(result) == {key for key, doc in DOCUMENTED.items() if doc['returned'] == 'always'}


def test_return_documentation_matches_an_api_failure(stub_api, connection_args, capsys):
    stub_api.add(listed(), Reply(429, envelope(None, False, [{'code': 1008, 'message': 'x'}]), headers={'Retry-After': '5'}),
                 listed())
    _failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    documented_failure = {key for key, doc in DOCUMENTED.items() if doc['returned'].startswith('failure')}
    assert returned_keys(result) == documented_failure | {'request'}


def test_an_identical_capture_in_progress_is_reused_not_duplicated(stub_api, connection_args, capsys):
    running = capture_record(status='running', filter_v1={'destination_port': 443, 'protocol': None})
    stub_api.add(listed(capture_record(id=OTHER_ID, status='running', time_limit=30), running))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           filter_v1={'destination_port': 443}), capsys)
    assert not failed
    assert result['changed'] is False and result['id'] == CAPTURE_ID and result['status'] == 'running'
    assert [r['method'] for r in stub_api.requests] == ['GET']


@pytest.mark.parametrize('status', ['success', 'failed', 'conversion_running'])
def test_finished_identical_captures_are_not_reused(stub_api, connection_args, capsys, status):
    stub_api.add(listed(capture_record(id=OTHER_ID, status=status)), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert not failed and result['changed'] is True and result['id'] == CAPTURE_ID


def test_force_creates_even_when_an_identical_capture_runs(stub_api, connection_args, capsys):
    stub_api.add(listed(capture_record(id=OTHER_ID, status='running')), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           force=True), capsys)
    assert not failed and result['changed'] is True and result['id'] == CAPTURE_ID
    assert [r['method'] for r in stub_api.requests] == ['GET', 'POST']


def test_lost_answer_adopts_the_capture_the_request_created(stub_api, connection_args, capsys):
    stub_api.add(listed(capture_record(id=OTHER_ID, status='success')), Reply(kind='reset'),
                 listed(capture_record(), capture_record(id=OTHER_ID, status='success')))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert not failed and result['changed'] is True and result['id'] == CAPTURE_ID
    assert [r['method'] for r in stub_api.requests] == ['GET', 'POST', 'GET']
    assert 'which that request created, is used' in json.dumps(result['warnings'])  # 2.19 structures warnings


def test_lost_answer_without_a_new_capture_fails_clearly_without_retrying(stub_api, connection_args, capsys):
    html = b'<html><head><title>502 Bad gateway</title></head></html>'
    stub_api.add(listed(), Reply(502, html, kind='raw', headers={'Content-Type': 'text/html'}), listed())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed and result['changed'] is False
    assert result['msg'].startswith('Create packet capture failed: HTTP 502 Bad Gateway')
    assert 'Cloudflare lists no new capture with these parameters' in result['msg']
    assert [r['method'] for r in stub_api.requests] == ['GET', 'POST', 'GET']


def test_wait_polls_until_the_capture_succeeds(stub_api, connection_args, capsys):
    stub_api.add(listed(), created(), created(status='running'), created(status='conversion_running'),
                 created(status='success'))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           wait=True), capsys)
    assert not failed and result['status'] == 'success' and result['capture']['status'] == 'success'
    assert result['elapsed'] >= 0
    assert [r['method'] for r in stub_api.requests] == ['GET', 'POST', 'GET', 'GET', 'GET']


def test_wait_fails_with_cloudflares_error_message(stub_api, connection_args, capsys):
    stub_api.add(listed(), created(), created(status='failed', error_message='No packets matched the filter'))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           wait=True), capsys)
    assert failed and result['changed'] is True
    assert result['msg'] == 'Packet capture %s failed: No packets matched the filter' % CAPTURE_ID
    assert result['status'] == 'failed'


def test_wait_timeout_fails_with_the_last_capture_seen(stub_api, connection_args, capsys):
    stub_api.add(listed(), created(), *[created(status='running')] * 50)
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           wait=True, wait_timeout=0), capsys)
    assert failed and result['changed'] is True
    assert result['msg'].startswith('Packet capture %s is still pending after waiting 0 s' % CAPTURE_ID)
    assert result['capture']['id'] == CAPTURE_ID and result['status'] == 'pending'


def test_an_unusable_list_stops_the_request_and_says_how_to_force_it(stub_api, connection_args, capsys):
    stub_api.add(Reply(200, envelope({'not': 'a list'})))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed and result['msg'].endswith('looking for an identical capture in progress failed, so none was '
                                             'requested; force=true requests one without that check, at the risk of '
                                             'a second capture if an identical one is in progress')
    assert [r['method'] for r in stub_api.requests] == ['GET']


def test_a_list_that_keeps_failing_with_5xx_says_how_to_force_it(stub_api, connection_args, capsys):
    stub_api.add(*[Reply(503, envelope(None, False, [{'code': 10001, 'message': 'unavailable'}]))] * 3)
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed and result['status_code'] == 503 and 'force=true requests one without that check' in result['msg']
    assert [r['method'] for r in stub_api.requests] == ['GET'] * 3  # retried (retries=2), never created


@pytest.mark.parametrize('replies, hint', [
    ([Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}]))],
     'check the credential and account_id: the token must be valid and have the permission Magic Firewall Packet '
     'Captures - Write PCAPs API on that account, and the account must have packet captures enabled; force=true does '
     'not help'),
    ([Reply(401, envelope(None, False, [{'code': 10001, 'message': 'Unauthorized'}]))],
     'check the credential and account_id'),
    ([Reply(404, envelope(None, False, [{'code': 7000, 'message': 'No route for that URI'}]))],
     'check account_id and base_url'),
    ([Reply(429, envelope(None, False, [{'code': 971, 'message': 'blocked'}]), headers={'Retry-After': '300'})],
     'wait until 20'),
    ([Reply(429, envelope(None, False, [{'code': 971, 'message': 'slow down'}]), headers={'Retry-After': '1'})] * 3,
     'wait 1 s (retry_after) and run the task again; force=true does not help'),
])
def test_a_failing_duplicate_check_says_what_would_help_and_not_force(stub_api, connection_args, capsys, replies, hint):
    stub_api.add(*replies)
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed and 'looking for an identical capture in progress failed, so none was requested; ' + hint in result['msg']
    assert 'force=true requests' not in result['msg']
    assert [r['method'] for r in stub_api.requests] == ['GET'] * len(replies)


@pytest.mark.parametrize('base_url', ['http://127.0.0.1:9/client/v4', 'https://no-such-host.invalid/client/v4'])
def test_an_unreachable_base_url_says_to_check_it_and_not_force(connection_args, capsys, base_url):
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           base_url=base_url, retries=0, allow_insecure_http=True),
                                capsys)
    assert failed and 'status_code' not in result
    assert ('looking for an identical capture in progress failed, so none was requested; check base_url (%s) and the '
            'network between this host and it (DNS, proxy, firewall)' % base_url) in result['msg']
    assert 'force=true requests' not in result['msg']


def test_force_creates_even_when_the_duplicate_check_fails(stub_api, connection_args, capsys):
    stub_api.add(Reply(404, envelope(None, False, [{'code': 7000, 'message': 'No route'}])), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           force=True), capsys)
    assert not failed and result['changed'] is True and result['id'] == CAPTURE_ID


def test_forced_request_with_a_lost_answer_says_the_capture_may_exist(stub_api, connection_args, capsys):
    stub_api.add(Reply(404, envelope(None, False, [{'code': 7000, 'message': 'No route'}])), Reply(kind='reset'))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           force=True), capsys)
    assert failed and 'the capture may exist: look with capture_info' in result['msg']
    assert [r['method'] for r in stub_api.requests] == ['GET', 'POST']


def test_the_simple_capture_limit_names_the_capture_in_the_way(stub_api, connection_args, capsys):
    earlier = capture_record(id=OTHER_ID, status='success', submitted='2026-11-27T08:00:30Z', time_limit=30)
    stub_api.add(listed(capture_record(status='success'), earlier),
                 Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one per minute'}]), headers={'Retry-After': '20'}),
                 listed(capture_record(status='success'), earlier))
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert failed
    assert result['msg'].endswith('in the way: simple capture %s, submitted 2026-11-27T08:00:30Z; Cloudflare accepts one '
                                  'simple capture a minute, retry after 20 s' % OTHER_ID)


def test_the_full_capture_limit_names_the_running_one_and_how_to_stop_it(stub_api, connection_args, capsys):
    running = capture_record(id=OTHER_ID, type='full', status='running', colo_name='ams01', destination_conf=BUCKET)
    stub_api.add(listed(running), Reply(429, envelope(None, False, [{'code': 1009, 'message': 'one full at a time'}])),
                 listed(running))
    failed, result = run_module(capture_request.main, dict(connection_args, type='full', time_limit=300, colo_name='ord02',
                                                           destination_conf=BUCKET), capsys)
    assert failed
    assert 'in the way: full capture %s, running since 2026-11-27T08:00:00Z' % OTHER_ID in result['msg']
    assert 'cloudflare.pcap.capture_stop' in result['msg']
    assert 'TOPSECRETVALUE' not in repr(result)


def test_turning_tls_verification_off_warns(stub_api, connection_args, capsys):
    stub_api.add(listed())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           validate_certs=False, _ansible_check_mode=True), capsys)
    assert not failed
    assert 'validate_certs=false: TLS certificates of' in json.dumps(result['warnings'])


def test_tls_verification_is_on_by_default(stub_api, connection_args, capsys, monkeypatch):
    import requests.adapters
    verify_values = []
    real_send = requests.adapters.HTTPAdapter.send

    def recording_send(self, request, **kwargs):
        verify_values.append(kwargs.get('verify'))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send', recording_send)
    stub_api.add(listed(), created())
    failed, _result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100), capsys)
    assert not failed and len(verify_values) == 2
    # True, or a CA bundle path where REQUESTS_CA_BUNDLE is set; never off.
    assert all(value not in (False, None) for value in verify_values)


@pytest.fixture
def slept(monkeypatch, stub_api):
    """The module's clock, from 1796047600, moves only when it sleeps: each sleep as (seconds, requests sent before)."""
    clock = {'now': 1796047600.0}
    slept = []

    def sleep(seconds):
        slept.append((seconds, len(stub_api.requests)))
        clock['now'] += seconds

    monkeypatch.setattr(capture_request.time, 'time', lambda: clock['now'])
    monkeypatch.setattr(capture_request.time, 'sleep', sleep)
    return slept


def test_not_before_waits_until_then_and_sends_nothing_before(stub_api, connection_args, capsys, slept):
    """The start slot a queue gave the request: the first request (the list) goes out once it has come."""
    stub_api.add(listed(), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           not_before=1796047665.5), capsys)
    assert not failed, result
    # Nothing went out before the wait, both requests after it.
    assert slept == [(65.5, 0)] and len(stub_api.requests) == 2
    # A slot in the past requests at once; one more than a day ahead is a mistake and requests nothing.
    stub_api.add(listed(), created())
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           not_before=1796047000.0), capsys)
    assert not failed and slept == [(65.5, 0)]
    failed, result = run_module(capture_request.main, dict(connection_args, time_limit=60, packet_limit=100,
                                                           not_before=1796047665.5 * 1000), capsys)
    assert failed and 'more than 24 hours ahead; nothing was requested' in result['msg']
    assert len(stub_api.requests) == 4


def test_requests_that_share_a_spacing_file_are_spaced_apart(stub_api, connection_args, capsys, slept, tmp_path):
    args = dict(connection_args, time_limit=60, packet_limit=100, not_before=1796047600.0,
                spacing_file=str(tmp_path / 'account.spacing'), spacing=4.0)
    for _run in range(2):
        stub_api.add(listed(), created())
        failed, result = run_module(capture_request.main, args, capsys)
        assert not failed, result
    # The second start had come (a late process), but the first request was recorded: 4 s later, not at once.
    assert slept == [(4.0, 2)] and len(stub_api.requests) == 4
