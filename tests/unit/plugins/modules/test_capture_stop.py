# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_stop run in-process against a real HTTP server on loopback."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.modules import capture_stop
from ansible_collections.cloudflare.pcap.tests.unit.helpers import (
    CAPTURE_ID,
    Reply,
    assert_matches_return_docs,
    envelope,
    run_module,
)


def capture(status='running', **fields):
    record = {'id': CAPTURE_ID, 'status': status, 'type': 'full', 'destination_conf': 's3://b?k=SECRET'}
    record.update(fields)
    return Reply(200, envelope(record))


def methods(stub_api):
    return [request['method'] for request in stub_api.requests]


def test_stops_a_running_full_capture(stub_api, connection_args, capsys):
    stub_api.add(capture(), Reply(204), capture(status='conversion_pending', stop_requested='2026-11-27T08:10:00Z'))
    failed, result = run_module(capture_stop.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert not failed and result['changed'] is True
    assert result['capture']['stop_requested'] == '2026-11-27T08:10:00Z'
    assert result['capture']['destination_conf'] == 's3://b?********'
    assert methods(stub_api) == ['GET', 'PUT', 'GET']
    assert stub_api.requests[1]['path'].endswith('/pcaps/%s/stop' % CAPTURE_ID)
    assert_matches_return_docs(capture_stop, result, 'success')


@pytest.mark.parametrize('state', [dict(status='running', stop_requested='2026-11-27T08:10:00Z'), dict(status='complete'),
                                   dict(status='conversion_running'), dict(status='failed')])
def test_stopped_or_finished_captures_are_left_alone(stub_api, connection_args, capsys, state):
    stub_api.add(capture(**state))
    failed, result = run_module(capture_stop.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert not failed and result['changed'] is False
    assert methods(stub_api) == ['GET']


def test_check_mode_reports_without_stopping(stub_api, connection_args, capsys):
    stub_api.add(capture())
    failed, result = run_module(capture_stop.main, dict(connection_args, id=CAPTURE_ID, _ansible_check_mode=True), capsys)
    assert not failed and result['changed'] is True
    assert methods(stub_api) == ['GET']


def test_a_capture_that_finished_meanwhile_is_not_a_failure(stub_api, connection_args, capsys):
    stub_api.add(capture(), Reply(400, envelope(None, False, [{'code': 1004, 'message': 'not running'}])),
                 capture(status='complete'))
    failed, result = run_module(capture_stop.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert not failed and result['changed'] is False
    assert methods(stub_api) == ['GET', 'PUT', 'GET']


def test_a_refused_stop_of_a_running_capture_fails(stub_api, connection_args, capsys):
    stub_api.add(capture(), Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}])),
                 capture())
    failed, result = run_module(capture_stop.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert failed and result['status_code'] == 403 and result['msg'].startswith('Stop packet capture %s failed' % CAPTURE_ID)
    assert_matches_return_docs(capture_stop, result, 'failure, when Cloudflare answered')


def test_simple_captures_cannot_be_stopped(stub_api, connection_args, capsys):
    stub_api.add(capture(type='simple'))
    failed, result = run_module(capture_stop.main, dict(connection_args, id=CAPTURE_ID), capsys)
    assert failed and 'only full captures can be stopped' in result['msg']
    assert methods(stub_api) == ['GET']
