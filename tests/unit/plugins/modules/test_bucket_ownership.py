# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bucket_ownership run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.cloudflare.pcap.plugins.modules import bucket_ownership
from ansible_collections.cloudflare.pcap.tests.unit.helpers import TOKEN, Reply, envelope, run_module
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._buckets.test_ownership import (
    BUCKET_ID,
    CHALLENGE,
    CHALLENGE_CONTENTS,
    OWNERSHIP,
    URI,
    URI_WITHOUT_KEYS,
    bucket,
    install_fake_time,
    listed,
    one,
)

MASKED_URI = 'r2://pcaps-bucket?********'
DOCUMENTED = yaml.safe_load(bucket_ownership.RETURN)
TYPES = {'str': str, 'dict': dict, 'list': list, 'int': int}


@pytest.fixture
def fake_time(monkeypatch):
    return install_fake_time(monkeypatch)


def mismatch():
    return Reply(400, envelope(None, False, [{'code': 1000, 'message': 'Ownership challenge does not match'}]))


def methods(stub_api):
    return [r['method'] for r in stub_api.requests]


def run(connection_args, capsys, **args):
    return run_module(bucket_ownership.main, dict(connection_args, destination_conf=URI, **args), capsys)


def no_secrets(result):
    text = repr(result)
    return 'SECRETVALUE' not in text and 'KEYID' not in text and TOKEN not in text


def test_present_adds_the_bucket_and_returns_it_masked(stub_api, connection_args, capsys):
    stub_api.add(listed(), one())
    failed, result = run(connection_args, capsys)
    assert not failed and result['changed'] is True
    assert result['bucket'] == dict(bucket(), destination_conf=MASKED_URI)
    assert [(r['method'], r['path'], r['body']) for r in stub_api.requests] == [
        ('GET', OWNERSHIP, None), ('POST', OWNERSHIP, {'destination_conf': URI})]
    assert no_secrets(result)


def test_present_twice_is_idempotent(stub_api, connection_args, capsys):
    stub_api.add(listed(), one(), listed(bucket()))
    _failed, first = run(connection_args, capsys)
    failed, second = run(connection_args, capsys)
    assert first['changed'] is True
    assert not failed and second['changed'] is False and second['bucket'] == first['bucket']
    assert methods(stub_api) == ['GET', 'POST', 'GET']


@pytest.mark.parametrize('state, existing, changed', [
    ('present', (), True),
    ('present', (bucket(),), False),
    ('validated', (), True),
    ('validated', (bucket(),), True),
    ('validated', (bucket(status='success'),), False),
    ('absent', (bucket(),), True),
    ('absent', (), False),
])
def test_check_mode_only_reads_and_predicts_changed(stub_api, connection_args, capsys, state, existing, changed):
    stub_api.add(listed(*existing))
    failed, result = run(connection_args, capsys, state=state, ownership_challenge=CHALLENGE, _ansible_check_mode=True)
    assert not failed and result['changed'] is changed
    assert methods(stub_api) == ['GET']
    assert (result['bucket'] is None) == (not existing)
    assert no_secrets(result)


def test_validated_validates_with_the_challenge_and_the_uri_without_keys(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket(destination_conf=URI_WITHOUT_KEYS)), one(status='success', validated='2026-11-27T08:05:00Z'))
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=' %s\n' % CHALLENGE_CONTENTS)
    assert not failed and result['changed'] is True
    assert result['bucket']['status'] == 'success' and result['bucket']['destination_conf'] == MASKED_URI
    assert stub_api.requests[1]['path'] == OWNERSHIP + '/validate'
    assert stub_api.requests[1]['body'] == {'destination_conf': URI_WITHOUT_KEYS, 'ownership_challenge': CHALLENGE_CONTENTS}
    assert no_secrets(result)


@pytest.mark.parametrize('listed_as', [URI, URI_WITHOUT_KEYS])
def test_present_on_a_bucket_listed_with_or_without_keys_is_unchanged(stub_api, connection_args, capsys, listed_as):
    stub_api.add(listed(bucket(destination_conf=listed_as)))
    failed, result = run(connection_args, capsys)
    assert not failed and result['changed'] is False and result['bucket']['id'] == BUCKET_ID
    assert methods(stub_api) == ['GET']


def test_validated_leaving_the_bucket_pending_succeeds_without_wait(stub_api, connection_args, capsys, fake_time):
    stub_api.add(listed(bucket(destination_conf=URI_WITHOUT_KEYS)), one(destination_conf=URI_WITHOUT_KEYS))
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE_CONTENTS)
    assert not failed and result['changed'] is True and result['bucket']['status'] == 'pending'
    assert methods(stub_api) == ['GET', 'POST'] and fake_time.sleeps == []
    assert 'warnings' not in result


def test_validated_on_a_pending_bucket_validates_again_and_waits(stub_api, connection_args, capsys, fake_time):
    # A re-run while Cloudflare is checking the challenge: validating again is allowed, then the wait goes on.
    stub_api.add(listed(bucket(destination_conf=URI_WITHOUT_KEYS)), one(destination_conf=URI_WITHOUT_KEYS),
                 listed(bucket(destination_conf=URI_WITHOUT_KEYS)),
                 listed(bucket(destination_conf=URI_WITHOUT_KEYS, status='success', validated='2026-11-27T08:08:00Z')))
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE_CONTENTS, wait=True)
    assert not failed and result['changed'] is True
    assert result['bucket']['status'] == 'success' and result['bucket']['validated'] == '2026-11-27T08:08:00Z'
    assert methods(stub_api) == ['GET', 'POST', 'GET', 'GET'] and len(fake_time.sleeps) == 2


def test_wait_that_sees_the_bucket_fail_fails_the_task(stub_api, connection_args, capsys, fake_time):
    stub_api.add(listed(bucket()), one(), listed(bucket(status='failed')))
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE_CONTENTS, wait=True)
    assert failed and result['changed'] is True and result['bucket']['status'] == 'failed'
    assert result['msg'].startswith('Cloudflare could not validate bucket r2://pcaps-bucket?******** (status failed)')
    assert no_secrets(result)


def test_wait_timeout_fails_with_the_pending_bucket(stub_api, connection_args, capsys, fake_time):
    stub_api.add(listed(bucket()), one(), *[listed(bucket()) for _poll in range(30)])
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE_CONTENTS, wait=True,
                         wait_timeout=30)
    assert failed and result['changed'] is True and result['bucket']['status'] == 'pending'
    assert result['msg'] == ('Bucket r2://pcaps-bucket?******** is still pending after waiting 30 s (wait_timeout): '
                             'Cloudflare takes 5 to 10 minutes to check the ownership challenge; run the task again '
                             'later or raise wait_timeout')
    assert fake_time.now == 30
    assert no_secrets(result)


@pytest.mark.parametrize('state', ['present', 'validated', 'absent'])
def test_negative_wait_timeout_fails_before_any_request(stub_api, connection_args, capsys, state):
    failed, result = run(connection_args, capsys, state=state, ownership_challenge=CHALLENGE_CONTENTS, wait=True,
                         wait_timeout=-1)
    assert failed and result['msg'] == 'wait_timeout: must be 0 or more seconds, got -1'
    assert stub_api.requests == []


# ownership_challenge_file

@pytest.mark.parametrize('contents', [CHALLENGE_CONTENTS, CHALLENGE_CONTENTS + '\n', '\r\n  %s \r\n' % CHALLENGE_CONTENTS])
def test_challenge_file_contents_are_sent_without_surrounding_whitespace(stub_api, connection_args, capsys, tmp_path, contents):
    challenge_file = tmp_path / CHALLENGE
    challenge_file.write_text(contents)
    stub_api.add(listed(bucket()), one(status='success'))
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge_file=str(challenge_file))
    assert not failed and result['changed'] is True
    assert stub_api.requests[1]['body'] == {'destination_conf': URI_WITHOUT_KEYS, 'ownership_challenge': CHALLENGE_CONTENTS}


def test_challenge_file_path_is_expanded(stub_api, connection_args, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv('HOME', str(tmp_path))
    (tmp_path / CHALLENGE).write_text(CHALLENGE_CONTENTS + '\n')
    stub_api.add(listed(bucket()), one(status='success'))
    failed, _result = run(connection_args, capsys, state='validated', ownership_challenge_file='~/' + CHALLENGE)
    assert not failed
    assert stub_api.requests[1]['body']['ownership_challenge'] == CHALLENGE_CONTENTS


@pytest.mark.parametrize('make, message', [
    (lambda path: None, 'ownership_challenge_file: cannot read {path} (No such file or directory)'),
    (lambda path: path.mkdir(), 'ownership_challenge_file: cannot read {path} (Is a directory)'),
    (lambda path: path.write_text(' \n'),
     'ownership_challenge_file: {path} is empty; download the challenge file from the bucket again'),
    (lambda path: path.write_bytes(b'\xff\xfe\x00'),
     'ownership_challenge_file: {path} is not UTF-8 text, so it is not an ownership challenge file'),
    (lambda path: path.write_bytes(b'a' * 65537),
     'ownership_challenge_file: {path} is larger than 64 KiB, so it is not an ownership challenge file'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_unusable_challenge_file_fails_naming_the_option_before_any_request(stub_api, connection_args, capsys, tmp_path,
                                                                            make, message, check_mode):
    path = tmp_path / CHALLENGE
    make(path)
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge_file=str(path),
                         _ansible_check_mode=check_mode)
    assert failed and result['msg'] == message.format(path=path)
    assert stub_api.requests == []


def test_challenge_and_challenge_file_are_mutually_exclusive(stub_api, connection_args, capsys, tmp_path):
    path = tmp_path / CHALLENGE
    path.write_text(CHALLENGE_CONTENTS)
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE_CONTENTS,
                         ownership_challenge_file=str(path))
    assert failed and result['msg'] == 'parameters are mutually exclusive: ownership_challenge|ownership_challenge_file'
    assert stub_api.requests == []


@pytest.mark.parametrize('state', ['present', 'absent'])
def test_challenge_file_is_ignored_with_other_states(stub_api, connection_args, capsys, tmp_path, state):
    stub_api.add(listed(bucket()), Reply(204))
    failed, _result = run(connection_args, capsys, state=state, ownership_challenge_file=str(tmp_path / 'missing.txt'))
    assert not failed


def test_validated_again_is_idempotent_and_needs_no_challenge(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket(status='success')))
    failed, result = run(connection_args, capsys, state='validated')
    assert not failed and result['changed'] is False and result['bucket']['status'] == 'success'
    assert methods(stub_api) == ['GET']


def test_validated_adds_a_missing_bucket_first(stub_api, connection_args, capsys):
    stub_api.add(listed(), one(), one(status='success'))
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE)
    assert not failed and result['changed'] is True and result['bucket']['status'] == 'success'
    assert methods(stub_api) == ['GET', 'POST', 'POST']


def test_wrong_challenge_fails_with_cloudflares_error_and_the_pending_bucket(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket()), mismatch())
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge='wrong')
    assert failed and result['changed'] is False
    assert result['msg'] == ('Validate bucket ownership failed: HTTP 400 Bad Request, Cloudflare error 1000: '
                             'Ownership challenge does not match')
    assert result['status_code'] == 400
    assert result['bucket']['filename'] == CHALLENGE and result['bucket']['status'] == 'pending'
    assert no_secrets(result)


def test_wrong_challenge_after_adding_reports_the_change(stub_api, connection_args, capsys):
    stub_api.add(listed(), one(), mismatch())
    failed, result = run(connection_args, capsys, state='validated', ownership_challenge='wrong.txt')
    assert failed and result['changed'] is True and result['bucket']['id'] == BUCKET_ID


@pytest.mark.parametrize('check_mode', [False, True])
def test_validated_without_a_challenge_names_the_option_and_changes_nothing(stub_api, connection_args, capsys, check_mode):
    stub_api.add(listed(bucket()))
    failed, result = run(connection_args, capsys, state='validated', _ansible_check_mode=check_mode)
    assert failed and result['changed'] is False
    assert result['msg'].startswith('ownership_challenge: is required with state=validated')
    assert CHALLENGE in result['msg'] and result['bucket']['filename'] == CHALLENGE
    assert methods(stub_api) == ['GET']


def test_absent_deletes_then_is_idempotent(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket()), Reply(204), listed())
    _failed, first = run(connection_args, capsys, state='absent')
    failed, second = run(connection_args, capsys, state='absent')
    assert first['changed'] is True and first['bucket'] == dict(bucket(), destination_conf=MASKED_URI)
    assert not failed and second['changed'] is False and second['bucket'] is None
    assert [(r['method'], r['path']) for r in stub_api.requests] == [
        ('GET', OWNERSHIP), ('DELETE', OWNERSHIP + '/' + BUCKET_ID), ('GET', OWNERSHIP)]


def test_absent_deletes_the_bucket_listed_without_keys(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket(destination_conf=URI_WITHOUT_KEYS)), Reply(204))
    failed, result = run(connection_args, capsys, state='absent')
    assert not failed and result['changed'] is True and result['bucket']['id'] == BUCKET_ID
    assert [r['method'] for r in stub_api.requests] == ['GET', 'DELETE']


def test_a_bucket_with_another_uri_is_not_touched(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket(destination_conf=URI + '&region=auto')), Reply(200, envelope(bucket(id='a' * 32))))
    failed, result = run(connection_args, capsys)
    assert not failed and result['changed'] is True and result['bucket']['id'] == 'a' * 32


def test_empty_destination_conf_fails_before_any_request(stub_api, connection_args, capsys):
    failed, result = run_module(bucket_ownership.main, dict(connection_args, destination_conf=''), capsys)
    assert failed and result['msg'] == 'destination_conf: must not be empty'
    assert stub_api.requests == []


def test_api_errors_on_listing_fail_cleanly(stub_api, connection_args, capsys):
    stub_api.add(Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])))
    failed, result = run(connection_args, capsys, state='absent')
    assert failed and result['changed'] is False and result['bucket'] is None
    assert result['msg'] == 'Delete bucket failed: HTTP 403 Forbidden, Cloudflare error 10000: Authentication error'


# RETURN documentation drift

def returned_keys(result):
    return set(result) - {'changed', 'msg', 'failed', 'invocation', 'warnings', 'deprecations', 'exception'}


def test_return_documentation_matches_a_success(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket()), one(status='success', validated='2026-11-27T08:05:00Z'))
    _failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE)
    assert returned_keys(result) == {key for key, doc in DOCUMENTED.items() if 'success' in doc['returned']}
    for key in returned_keys(result):
        assert isinstance(result[key], TYPES[DOCUMENTED[key]['type']])
    assert set(result['bucket']) == set(DOCUMENTED['bucket']['contains'])


def test_return_documentation_matches_an_api_failure(stub_api, connection_args, capsys):
    stub_api.add(listed(bucket()), Reply(429, envelope(None, False, [{'code': 10429, 'message': 'x'}]),
                                         headers={'Retry-After': '5'}))
    _failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE)
    documented_failure = {key for key, doc in DOCUMENTED.items() if 'failure' in doc['returned']}
    assert returned_keys(result) <= documented_failure
    assert {'bucket', 'status_code', 'error_codes', 'errors', 'retry_after'} <= returned_keys(result)
    for key in returned_keys(result):
        assert isinstance(result[key], TYPES[DOCUMENTED[key]['type']])


def test_return_documentation_matches_a_wait_timeout(stub_api, connection_args, capsys, fake_time):
    stub_api.add(listed(bucket()), one(), listed(bucket()))
    _failed, result = run(connection_args, capsys, state='validated', ownership_challenge=CHALLENGE, wait=True, wait_timeout=1)
    assert returned_keys(result) == {'bucket'}
    assert set(result['bucket']) == set(DOCUMENTED['bucket']['contains']) - {'validated'}
