# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bucket_ownership_info run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.cloudflare.pcap.plugins.modules import bucket_ownership_info
from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, TOKEN, Reply, envelope, run_module

URI = 'r2://pcaps-bucket?account-id=1&access-key-id=KEYID&secret-access-key=SECRETVALUE'
URI_WITHOUT_KEYS = 'r2://pcaps-bucket?account-id=1'
S3 = 's3://other-bucket/pcaps?region=us-east-1'
DOCUMENTED = yaml.safe_load(bucket_ownership_info.RETURN)


def bucket(bucket_id, destination_conf, **fields):
    record = {'id': bucket_id, 'status': 'success', 'submitted': '2026-11-27T08:00:00Z',
              'destination_conf': destination_conf, 'filename': 'ownership-challenge-%s.txt' % bucket_id[:8],
              'validated': '2026-11-27T08:05:00Z'}
    record.update(fields)
    return record


FIRST = bucket('1' * 32, URI)
SECOND = bucket('2' * 32, S3, status='pending')


def listed(result):
    return Reply(200, envelope(result))


@pytest.mark.parametrize('check_mode', [False, True])
def test_lists_every_bucket_masked(stub_api, connection_args, capsys, check_mode):
    stub_api.add(listed([FIRST, SECOND]))
    failed, result = run_module(bucket_ownership_info.main, dict(connection_args, _ansible_check_mode=check_mode), capsys)
    assert not failed and result['changed'] is False
    assert result['buckets'] == [dict(FIRST, destination_conf='r2://pcaps-bucket?********'),
                                 dict(SECOND, destination_conf='s3://other-bucket/pcaps?********')]
    assert [(r['method'], r['path']) for r in stub_api.requests] == [
        ('GET', '/client/v4/accounts/%s/pcaps/ownership' % ACCOUNT_ID)]
    assert 'SECRETVALUE' not in repr(result) and 'KEYID' not in repr(result) and TOKEN not in repr(result)


@pytest.mark.parametrize('result', [None, []])
def test_no_buckets_is_an_empty_list(stub_api, connection_args, capsys, result):
    stub_api.add(listed(result))
    failed, answer = run_module(bucket_ownership_info.main, connection_args, capsys)
    assert not failed and answer['buckets'] == []


@pytest.mark.parametrize('wanted, ids', [
    (URI, ['1' * 32]),
    (URI_WITHOUT_KEYS, ['1' * 32]),
    ('r2://pcaps-bucket?access-key-id=ROTATED&secret-access-key=NEW&account-id=1', ['1' * 32]),
    (S3, ['2' * 32]),
    ('s3://other-bucket/pcaps', []),
    (URI + '&x=1', []),
])
@pytest.mark.parametrize('listed_as', [URI, URI_WITHOUT_KEYS])
def test_destination_conf_selects_one_bucket_by_identity(stub_api, connection_args, capsys, wanted, ids, listed_as):
    stub_api.add(listed([dict(FIRST, destination_conf=listed_as), SECOND]))
    failed, result = run_module(bucket_ownership_info.main, dict(connection_args, destination_conf=wanted), capsys)
    assert not failed
    assert [item['id'] for item in result['buckets']] == ids
    assert 'SECRETVALUE' not in repr(result)


def test_api_error_fails_with_status_and_codes(stub_api, connection_args, capsys):
    stub_api.add(Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])))
    failed, result = run_module(bucket_ownership_info.main, connection_args, capsys)
    assert failed and result['changed'] is False
    assert result['msg'] == 'List buckets failed: HTTP 403 Forbidden, Cloudflare error 10000: Authentication error'
    assert result['status_code'] == 403 and result['error_codes'] == [10000]


# RETURN documentation drift

def returned_keys(result):
    return set(result) - {'changed', 'msg', 'failed', 'invocation', 'warnings', 'deprecations', 'exception'}


def test_return_documentation_matches_a_success(stub_api, connection_args, capsys):
    stub_api.add(listed([FIRST]))
    _failed, result = run_module(bucket_ownership_info.main, connection_args, capsys)
    assert returned_keys(result) == {key for key, doc in DOCUMENTED.items() if doc['returned'] == 'success'}
    assert isinstance(result['buckets'], list)
    assert set(result['buckets'][0]) == set(DOCUMENTED['buckets']['contains'])


def test_return_documentation_matches_an_api_failure(stub_api, connection_args, capsys):
    stub_api.add(Reply(429, envelope(None, False, [{'code': 10429, 'message': 'x'}]), headers={'Retry-After': '5'}))
    _failed, result = run_module(bucket_ownership_info.main, dict(connection_args, retries=0), capsys)
    assert returned_keys(result) <= {key for key, doc in DOCUMENTED.items() if doc['returned'].startswith('failure')}
    assert {'status_code', 'error_codes', 'errors', 'retry_after'} <= returned_keys(result)
