# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, TOKEN, StubAPI


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
