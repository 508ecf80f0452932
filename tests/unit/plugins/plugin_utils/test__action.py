# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When the action plugins run a module in-process, and when as a module. The integration target
where_modules_run runs real playbooks both ways; these cover the cases a loopback test machine cannot set up
(another connection, become)."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest

from ansible_collections.cloudflare.pcap.plugins.action.capture_request import ActionModule
from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action


class IdentityTemplar:
    def template(self, value):
        return value


def action(transport='local', become=False, async_val=0, delegate_to=None, environment=None):
    task = SimpleNamespace(async_val=async_val, delegate_to=delegate_to, environment=environment, check_mode=False,
                           args={}, action='cloudflare.pcap.capture_request')
    connection = SimpleNamespace(transport=transport, _shell=SimpleNamespace(env_prefix=lambda **env: ''))
    return ActionModule(task, connection, SimpleNamespace(become=become, remote_addr='localhost'), None,
                        IdentityTemplar(), None)


def test_a_localhost_task_runs_in_process():
    assert action()._why_not_in_process({}) is None


@pytest.mark.parametrize('interpreter', [sys.executable, 'auto', 'auto_silent', 'auto_legacy_silent'])
def test_the_controller_python_or_discovery_runs_in_process(interpreter):
    assert action()._why_not_in_process({'ansible_python_interpreter': interpreter}) is None


@pytest.mark.parametrize('subject, task_vars, reason', [
    (dict(transport='ssh'), {}, 'the connection is ssh'),
    (dict(become=True), {}, 'become is set'),
    (dict(async_val=60), {}, 'async is set'),
    (dict(), {'ansible_python_interpreter': '/opt/other/bin/python3'},
     'ansible_python_interpreter is /opt/other/bin/python3'),
    (dict(delegate_to='bastion'), {'ansible_delegated_vars': {'bastion': {'ansible_python_interpreter': '/usr/bin/python3.9'}}},
     'ansible_python_interpreter is /usr/bin/python3.9'),
])
def test_anything_else_runs_as_a_module(subject, task_vars, reason):
    assert action(**subject)._why_not_in_process(task_vars) == reason


def test_missing_libraries_on_the_controller_leave_it_to_the_module(monkeypatch):
    monkeypatch.setattr(_action, 'REQUESTS_IMPORT_ERROR', 'No module named requests')
    assert action()._why_not_in_process({}) == 'requests is not installed for the controller Python'
    monkeypatch.setattr(_action, 'REQUESTS_IMPORT_ERROR', None)
    monkeypatch.setattr(_action.importlib.util, 'find_spec', lambda name: None)
    assert action()._why_not_in_process({}) == 'jsonschema is not installed for the controller Python'


def test_the_task_environment_is_seen_while_the_module_runs_and_gone_afterwards(monkeypatch):
    monkeypatch.delenv('CLOUDFLARE_API_TOKEN', raising=False)
    monkeypatch.setenv('CLOUDFLARE_ACCOUNT_ID', 'from-the-shell')
    subject = action(environment=[{'CLOUDFLARE_API_TOKEN': 'from-the-task', 'CLOUDFLARE_ACCOUNT_ID': 'overridden'}])
    with subject._task_environment():
        assert os.environ['CLOUDFLARE_API_TOKEN'] == 'from-the-task'
        assert os.environ['CLOUDFLARE_ACCOUNT_ID'] == 'overridden'
    assert 'CLOUDFLARE_API_TOKEN' not in os.environ
    assert os.environ['CLOUDFLARE_ACCOUNT_ID'] == 'from-the-shell'
