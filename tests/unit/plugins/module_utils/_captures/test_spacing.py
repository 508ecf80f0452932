# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Requests spaced apart through a shared file: on a fake clock, and with real concurrent requesters."""

from __future__ import annotations

import os
import threading
import time

from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.spacing import Spaced


def fake_time(start):
    """(moments, slept, clock, sleep): a clock that moves only when slept on, and the seconds slept."""
    moments, slept = [start], []

    def sleep(seconds):
        slept.append(seconds)
        moments[0] += seconds

    return moments, slept, lambda: moments[0], sleep


def test_waits_for_the_start_and_for_the_spacing_after_the_last_request(tmp_path):
    path = str(tmp_path / 'queue' / 'account.spacing')
    now, slept, clock, sleep = fake_time(1000.0)
    with Spaced(path, not_before=1010.0, spacing=60.0, clock=clock, sleep=sleep):
        assert now[0] == 1010.0
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    # The next one's start has come, but the last request was 60 s ago only at 1070.
    now[0] = 1020.0
    with Spaced(path, not_before=1015.0, spacing=60.0, clock=clock, sleep=sleep):
        assert now[0] == 1070.0
    # Long after, at once; and a file that holds no time does not keep anyone waiting.
    now[0] = 2000.0
    with Spaced(path, spacing=60.0, clock=clock, sleep=sleep):
        pass
    with open(path, 'w', encoding='ascii') as handle:
        handle.write('garbage')
    now[0] = 2001.0
    with Spaced(path, spacing=60.0, clock=clock, sleep=sleep):
        assert now[0] == 2001.0
    assert slept == [10.0, 50.0]


def test_without_a_file_only_the_start_is_waited_for():
    now, _slept, clock, sleep = fake_time(1000.0)
    with Spaced(None, not_before=1005.5, clock=clock, sleep=sleep) as spaced:
        assert now[0] == 1005.5 and spaced.waited == 5.5
    with Spaced(None, not_before=None, clock=clock, sleep=sleep):
        assert now[0] == 1005.5


def test_concurrent_requesters_that_all_start_now_are_spaced_apart(tmp_path):
    """Late processes all past their start at once: the lock still keeps their requests `spacing` apart."""
    path = str(tmp_path / 'account.spacing')
    spacing = 0.3
    entered = []
    lock = threading.Lock()

    def request():
        with Spaced(path, not_before=time.time() - 5, spacing=spacing):
            with lock:
                entered.append(time.time())

    threads = [threading.Thread(target=request) for _number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    entered.sort()
    assert len(entered) == 4
    assert min(later - earlier for earlier, later in zip(entered, entered[1:])) >= spacing - 0.01, entered
