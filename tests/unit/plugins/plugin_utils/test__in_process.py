# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process runner gives exactly what the module gives (tests/unit/plugins/modules run every module test
both ways; these compare whole results), and keeps AnsibleModule's guarantees: censored secrets, exits that no
`except Exception` stops."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._module import is_loopback
from ansible_collections.cloudflare.pcap.plugins.modules import capture_download, capture_info, capture_request
from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _in_process
from ansible_collections.cloudflare.pcap.plugins.plugin_utils._in_process import (
    INVOCATION_ON_REQUEST,
    InProcessModule,
    ModuleExit,
    run_in_process,
)
from ansible_collections.cloudflare.pcap.tests.unit import helpers
from ansible_collections.cloudflare.pcap.tests.unit.helpers import CAPTURE_ID, TOKEN, Reply, envelope, run_module, warning_texts

CAPTURE = {'id': CAPTURE_ID, 'status': 'success', 'type': 'simple', 'system': 'magic-transit', 'time_limit': 60,
           'packet_limit': 2}
PCAP = bytes.fromhex('d4c3b2a1020004000000000000000000ffff000001000000')  # libpcap header, no packets


def both_ways(monkeypatch, stub_api, capsys, module, args, replies):
    """The module's result as AnsibleModule prints it and as the in-process runner returns it."""
    results = []
    for runner in helpers.RUNNERS:
        monkeypatch.setattr(helpers, 'RUNNER', runner)
        stub_api.add(*replies)
        failed, result = run_module(module.main, dict(args), capsys)
        if 'warnings' in result:
            result['warnings'] = warning_texts(result)
        results.append((failed, result))
    return results


# ansible-core 2.21+ sends _ansible_inject_invocation (INJECT_INVOCATION); before, it is an unknown option there.
INVOCATION_CASES = ['invocation requested', 'invocation requested, failure'] if INVOCATION_ON_REQUEST else []


@pytest.mark.parametrize('case', [
    'created', 'check mode', 'bad bound', 'unknown option', 'wrong type', 'api error', 'no credentials', 'warning',
    'no account', 'cleartext refused', 'cleartext allowed',
] + INVOCATION_CASES)
def test_capture_request_results_are_identical(case, monkeypatch, stub_api, connection_args, capsys):
    args = dict(connection_args, time_limit=60, packet_limit=100)
    replies = [Reply(200, envelope([])), Reply(200, envelope(dict(CAPTURE, status='pending')))]
    if case.startswith('invocation requested'):
        args['_ansible_inject_invocation'] = True
        if case.endswith('failure'):
            args['time_limit'] = 301
    elif case == 'no account':
        del args['account_id']
    elif case.startswith('cleartext'):
        # Plain http:// to another host: through a proxy (the stub), so that an allowed request is really sent.
        monkeypatch.setenv('HTTP_PROXY', stub_api.base_url.rsplit('/client/v4', 1)[0])
        monkeypatch.delenv('NO_PROXY', raising=False)
        monkeypatch.delenv('no_proxy', raising=False)
        args['base_url'] = 'http://pcap-test.example/client/v4'
        args['allow_insecure_http'] = case == 'cleartext allowed'
    elif case == 'check mode':
        args['_ansible_check_mode'] = True
        replies = replies[:1]  # check mode reads the capture list, and creates nothing
    elif case == 'bad bound':
        args['time_limit'] = 301
    elif case == 'unknown option':
        args.update(bogus=1, _ansible_module_name='cloudflare.pcap.capture_request')
    elif case == 'wrong type':
        args['packet_limit'] = 'many'
    elif case == 'api error':
        replies = [Reply(403, envelope(None, False, [{'code': 10000, 'message': 'Authentication error'}]))]
    elif case == 'no credentials':
        del args['api_token']
    elif case == 'warning':
        args['validate_certs'] = False
    as_module, in_process = both_ways(monkeypatch, stub_api, capsys, capture_request, args, replies)
    assert as_module == in_process
    assert TOKEN not in json.dumps(in_process[1])
    if case.startswith('invocation requested'):
        assert in_process[1]['invocation']['module_args']['api_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
    elif INVOCATION_ON_REQUEST:
        assert 'invocation' not in in_process[1]
    else:
        assert 'invocation' in in_process[1]
    if case == 'no account':
        assert in_process[0] and in_process[1]['msg'].startswith('missing required arguments: account_id (set account_id, or')
    elif case == 'cleartext refused':
        assert in_process[0] and in_process[1]['msg'].startswith('base_url: plain http:// to pcap-test.example would send')
    elif case == 'cleartext allowed':
        assert not in_process[0] and in_process[1]['warnings'][0].startswith('allow_insecure_http=true')
        paths = [request['path'] for request in stub_api.requests]
        assert len(paths) == 4 and all(path.startswith('http://pcap-test.example/client/v4/') for path in paths), paths
    if case in ('no account', 'cleartext refused'):
        assert not stub_api.requests  # refused before anything is sent, both ways


@pytest.mark.parametrize('host, loopback', [
    ('localhost', True), ('LOCALHOST', True), ('localhost.', True), ('127.0.0.1', True), ('127.8.9.10', True),
    ('::1', True), ('::ffff:127.0.0.1', True),
    ('', False), ('0.0.0.0', False), ('::', False), ('10.0.0.1', False), ('128.0.0.1', False),
    ('localhost.example.com', False), ('127.0.0.1.example.com', False), ('api.cloudflare.com', False),
])
def test_loopback_is_this_machine_only(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize('base_url', ['http://127.0.0.1:4010/client/v4', 'http://localhost/client/v4',
                                      'http://[::1]:8080/client/v4', 'https://api.example.com/client/v4'])
def test_loopback_and_https_need_no_opt_in(base_url, connection_args):
    module = InProcessModule('t', dict(connection_args, base_url=base_url), argument_spec={})
    assert module.params['allow_insecure_http'] is False and not module._warnings


def test_capture_download_results_are_identical_with_file_attributes(monkeypatch, stub_api, connection_args, capsys,
                                                                     tmp_path):
    args = dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path) + '/')
    first, second = both_ways(monkeypatch, stub_api, capsys, capture_download, dict(args, force=True), [
        Reply(200, envelope(CAPTURE)), Reply(200, PCAP, {'Content-Type': 'application/vnd.tcpdump.pcap'}, kind='raw'),
    ])
    assert first == second
    assert first[1]['state'] == 'file' and first[1]['mode'] == '0600' and first[1]['size'] == len(PCAP)
    assert first[1]['uid'] == os.getuid()


def test_check_mode_download_says_dest_is_absent(monkeypatch, stub_api, connection_args, capsys, tmp_path):
    args = dict(connection_args, id=CAPTURE_ID, dest=str(tmp_path / 'new.pcap'), _ansible_check_mode=True)
    as_module, in_process = both_ways(monkeypatch, stub_api, capsys, capture_download, args,
                                      [Reply(200, envelope(CAPTURE))])
    assert as_module == in_process
    assert in_process[1]['state'] == 'absent' and in_process[1]['changed'] is True


def test_secrets_are_censored_wherever_they_appear(stub_api, connection_args):
    # Cloudflare echoing the token in an error message must not bring it into the result.
    stub_api.add(Reply(400, envelope(None, False, [{'code': 1, 'message': 'bad token %s' % TOKEN}])))
    result = run_in_process('capture_info', dict(connection_args, id=CAPTURE_ID), inject_invocation=True)
    assert result['failed'] is True
    assert TOKEN not in json.dumps(result)
    assert result['invocation']['module_args']['api_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_warnings_are_returned_like_the_module_returns_them(stub_api, connection_args):
    stub_api.add(Reply(200, envelope(CAPTURE)))
    result = run_in_process('capture_info', dict(connection_args, id=CAPTURE_ID, validate_certs=False))
    assert len(result['warnings']) == 1 and result['warnings'][0].startswith('validate_certs=false')


def test_exit_is_not_stopped_by_except_exception(connection_args):
    module = InProcessModule('t', dict(connection_args), argument_spec={}, inject_invocation=True)
    with pytest.raises(ModuleExit) as exited:
        try:
            module.exit_json(changed=False)
        except Exception:  # pylint: disable=broad-except  # what a module's own handler might do
            pytest.fail('ModuleExit was caught by except Exception')
    assert exited.value.result == {'changed': False, 'invocation': {'module_args': dict(
        connection_args, api_token='VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', api_email=None, api_key=None,
        validate_certs=True, timeout=30, allow_insecure_http=False)}}


def test_a_module_that_ends_without_a_result_is_a_bug(monkeypatch, connection_args):
    monkeypatch.setattr(capture_info, 'run', lambda module: None)
    with pytest.raises(RuntimeError, match='returned without a result'):
        run_in_process('capture_info', dict(connection_args, id=CAPTURE_ID))


def test_check_mode_of_a_module_without_it_is_skipped(connection_args):
    with pytest.raises(ModuleExit) as exited:
        InProcessModule('t', dict(connection_args), argument_spec={}, check_mode=True)
    assert exited.value.result == {'skipped': True, 'msg': 'remote module (t) does not support check mode'}


def test_runs_the_modules_of_the_collection_only(monkeypatch):
    imported = []
    real_import = _in_process.importlib.import_module

    def recording_import(name, *args):
        imported.append(name)
        return real_import(name, *args)

    monkeypatch.setattr(_in_process.importlib, 'import_module', recording_import)
    result = run_in_process('capture_info', {'id': 'not-an-id', 'api_token': 'x', 'account_id': '0' * 32})
    assert result['failed'] and result['msg'].startswith('id: ')
    assert imported == ['ansible_collections.cloudflare.pcap.plugins.modules.capture_info']
    with pytest.raises(ImportError):
        run_in_process('ping', {})
