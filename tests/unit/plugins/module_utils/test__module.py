# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PcapModule: plain http:// only to this machine unless the user opts in, and the connection options left out of a
module that talks to nobody. The declared constraints are tested through the modules (test_capture_request.py)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule, is_loopback
from ansible_collections.cloudflare.pcap.tests.unit.helpers import as_module_process, module_args


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
def test_loopback_and_https_need_no_opt_in(base_url, connection_args, capsys):
    with module_args(dict(connection_args, base_url=base_url)), as_module_process():
        module = PcapModule(argument_spec={})
        with pytest.raises(SystemExit):
            module.exit_json(changed=False)
    result = json.loads(capsys.readouterr().out)
    assert module.params['allow_insecure_http'] is False and 'warnings' not in result


def test_a_module_without_connection_takes_none_of_its_options(connection_args, capsys):
    with module_args(dict(connection_args)), as_module_process():
        with pytest.raises(SystemExit):
            PcapModule(argument_spec={}, connection=False)
    result = json.loads(capsys.readouterr().out)
    assert result['failed'] is True and result['msg'].startswith('Unsupported parameters for')
    assert 'api_token' in result['msg'] and 'account_id' in result['msg']
