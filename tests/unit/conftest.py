# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
import tempfile

import pytest

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, TOKEN, StubAPI

# ansible-test runs the unit tests without TMPDIR and ANSIBLE_REMOTE_TMP: pytest's tmp_path and the module files of
# the playbooks some tests run would go to /tmp and to the home in the user database (the local connection expands
# ~/.ansible/tmp through it). They go to tests/output/.tmp instead, ansible-test's own scratch directory; a value
# the user set stays.
SCRATCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'output', '.tmp')
if 'TMPDIR' not in os.environ:
    os.makedirs(SCRATCH_DIR, exist_ok=True)
    os.environ['TMPDIR'] = SCRATCH_DIR
    tempfile.tempdir = None  # computed again from TMPDIR
os.environ.setdefault('ANSIBLE_REMOTE_TMP', os.path.join(os.environ['TMPDIR'], 'ansible-remote'))


@pytest.fixture(autouse=True)
def no_cloudflare_environment(monkeypatch):
    # Env fallbacks would otherwise let a developer's own credentials leak into the tests.
    for name in ('CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_TOKEN_FILE', 'CLOUDFLARE_EMAIL', 'CLOUDFLARE_API_KEY',
                 'CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_BASE_URL'):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def stub_api():
    stub = StubAPI()
    yield stub
    stub.close()


@pytest.fixture
def connection_args(stub_api):
    return {'api_token': TOKEN, 'account_id': ACCOUNT_ID, 'base_url': stub_api.base_url, 'retries': 2}


def pytest_collection_modifyitems(items):
    """pytest-timeout for every unit test: ansible-test runs pytest with its own ini file, so the limit is set here.
    func_only: the alarm covers the test function, not ansible-test's own process around it."""
    for item in items:
        if item.get_closest_marker('timeout') is None:
            item.add_marker(pytest.mark.timeout(300, func_only=True))
