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


class FakeClock:
    def __init__(self, now):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_waits_for_the_start_and_for_the_spacing_after_the_last_request(tmp_path):
    path = str(tmp_path / 'queue' / 'account.spacing')
    clock = FakeClock(1000.0)
    with Spaced(path, not_before=1010.0, spacing=60.0, clock=clock, sleep=clock.sleep):
        assert clock.now == 1010.0
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    # The next one's start has come, but the last request was 60 s ago only at 1070.
    clock.now = 1020.0
    with Spaced(path, not_before=1015.0, spacing=60.0, clock=clock, sleep=clock.sleep):
        assert clock.now == 1070.0
    # Long after, at once; and a file that holds no time does not keep anyone waiting.
    clock.now = 2000.0
    with Spaced(path, spacing=60.0, clock=clock, sleep=clock.sleep):
        pass
    with open(path, 'w', encoding='ascii') as handle:
        handle.write('garbage')
    clock.now = 2001.0
    with Spaced(path, spacing=60.0, clock=clock, sleep=clock.sleep):
        assert clock.now == 2001.0
    assert clock.slept == [10.0, 50.0]


def test_without_a_file_only_the_start_is_waited_for():
    clock = FakeClock(1000.0)
    with Spaced(None, not_before=1005.5, clock=clock, sleep=clock.sleep) as spaced:
        assert clock.now == 1005.5 and spaced.waited == 5.5
    with Spaced(None, not_before=None, clock=clock, sleep=clock.sleep):
        assert clock.now == 1005.5


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

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    entered.sort()
    assert len(entered) == 4
    assert min(later - earlier for earlier, later in zip(entered, entered[1:])) >= spacing - 0.01, entered
