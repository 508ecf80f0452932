# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module test runs twice: as AnsibleModule, and through the action plugins' in-process runner. Both must
give the same results, so the in-process path cannot drift from the module."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.tests.unit import helpers


@pytest.fixture(autouse=True, params=helpers.RUNNERS)
def module_runner(request, monkeypatch):
    monkeypatch.setattr(helpers, 'RUNNER', request.param)
    return request.param
