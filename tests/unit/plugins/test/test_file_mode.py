# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test cloudflare.pcap.file_mode says what capture_download's mode option accepts (the role uses it by name in
its template; tests/integration/targets/role_incident_capture runs that)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.test import file_mode


@pytest.mark.parametrize('value, accepted', [('0600', True), ('640', True), ('0o644', False), (0o640, True),
                                             (0, True), (4095, True), (4096, False), (-1, False), ('rw-------', False),
                                             ('u+rw', False), (True, False), (None, False), ([], False)])
def test_accepts_what_capture_download_accepts(value, accepted):
    assert file_mode.TestModule().tests()['file_mode'](value) is accepted
