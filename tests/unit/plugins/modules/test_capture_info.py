# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_info run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.modules import capture_info
from ansible_collections.cloudflare.pcap.tests.unit.helpers import (
    CAPTURE_ID,
    Reply,
    assert_matches_return_docs,
    envelope,
    run_module,
)

FULL_ID = 'ffffffffffffffffffffffffffffffff'
SIMPLE = {'id': CAPTURE_ID, 'status': 'success', 'type': 'simple'}
FULL = {'id': FULL_ID, 'status': 'running', 'type': 'full', 'destination_conf': 's3://b?secret=S3CR3T'}


def test_lists_every_capture(stub_api, connection_args, capsys):
    stub_api.add(Reply(200, envelope([SIMPLE, FULL])))
    failed, result = run_module(capture_info.main, connection_args, capsys)
    assert not failed and result['changed'] is False
    assert [capture['id'] for capture in result['captures']] == [CAPTURE_ID, FULL_ID]
    assert result['captures'][1]['destination_conf'] == 's3://b?********'
    assert 'S3CR3T' not in repr(result)
    assert_matches_return_docs(capture_info, result, 'success, without O(id)')


@pytest.mark.parametrize('filters, expected', [
    (dict(status=['running']), [FULL_ID]),
    (dict(type='simple'), [CAPTURE_ID]),
    (dict(status=['pending'], type='full'), []),
])
def test_filters(stub_api, connection_args, capsys, filters, expected):
    stub_api.add(Reply(200, envelope([SIMPLE, FULL])))
    _failed, result = run_module(capture_info.main, dict(connection_args, **filters), capsys)
    assert [capture['id'] for capture in result['captures']] == expected


def test_no_captures_is_an_empty_list(stub_api, connection_args, capsys):
    stub_api.add(Reply(200, envelope(None)))
    _failed, result = run_module(capture_info.main, connection_args, capsys)
    assert result['captures'] == []


def test_one_capture(stub_api, connection_args, capsys):
    stub_api.add(Reply(200, envelope(SIMPLE)))
    failed, result = run_module(capture_info.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert not failed and result['found'] is True and result['capture'] == SIMPLE
    assert stub_api.requests[0]['path'].endswith('/pcaps/' + CAPTURE_ID)
    assert_matches_return_docs(capture_info, result, 'success, with O(id), when found')


def test_a_missing_capture_is_not_found_not_a_failure(stub_api, connection_args, capsys):
    stub_api.add(Reply(404, envelope(None, False, [{'code': 1003, 'message': 'Packet capture not found'}])))
    failed, result = run_module(capture_info.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert not failed and result['found'] is False and 'capture' not in result
    assert_matches_return_docs(capture_info, result, 'success, with O(id)')


def test_other_errors_fail(stub_api, connection_args, capsys):
    stub_api.add(Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])))
    failed, result = run_module(capture_info.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert failed and result['status_code'] == 403
    assert_matches_return_docs(capture_info, result, 'failure, when Cloudflare answered')


@pytest.mark.parametrize('bad_id', ['../ownership', 'x' * 32, CAPTURE_ID + '/download'])
def test_a_malformed_id_is_refused_before_any_request(stub_api, connection_args, capsys, bad_id):
    failed, result = run_module(capture_info.main, dict(connection_args, id=bad_id), capsys)
    assert failed and result['msg'].startswith('id: must be a Cloudflare id')
    assert stub_api.requests == []


@pytest.mark.parametrize('capture_type', ['simple', 'full'])
@pytest.mark.parametrize('status, finished', [('success', True), ('complete', True), ('unknown', False), ('running', False)])
def test_finished_means_success_or_complete_for_either_type(stub_api, connection_args, capsys, capture_type, status, finished):
    stub_api.add(Reply(200, envelope(dict(SIMPLE, type=capture_type, status=status))))
    failed, result = run_module(capture_info.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert not failed and result['finished'] is finished
