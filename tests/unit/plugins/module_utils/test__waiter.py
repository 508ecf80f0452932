# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The waiter on a fake clock: its polling cadence and its timeout."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._waiter import MAX_INTERVAL, Waiter, WaitTimeout


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


def waiter(timeout, clock):
    return Waiter(timeout, clock=clock, sleep=clock.sleep)


def test_returns_at_once_when_the_first_value_is_done():
    clock = FakeClock()
    subject = waiter(10, clock)
    assert subject.wait(lambda: pytest.fail('no fetch needed'), lambda value: value == 'done', first='done') == ('done', 0.0)
    assert subject.polls == 0


def test_polls_until_done_and_reports_elapsed():
    clock = FakeClock()
    subject = waiter(600, clock)
    value, elapsed = subject.wait(lambda: 'done' if clock.now >= 60 else 'running', lambda value: value == 'done')
    assert value == 'done'
    assert 60 <= elapsed <= 60 + MAX_INTERVAL  # completion is noticed within one interval


def poll_times(seconds):
    """When the waiter polls for a capture that finishes after `seconds`, starting from the create answer in hand."""
    clock = FakeClock()
    times = []

    def fetch():
        times.append(clock.now)
        return 'done' if clock.now >= seconds else 'running'

    _value, elapsed = waiter(seconds * 2, clock).wait(fetch, lambda value: value == 'done', first='pending')
    return times, elapsed


@pytest.mark.parametrize('seconds', [3, 8, 21, 30, 60, 300, 3600])
def test_waiting_never_costs_more_than_30_requests_a_minute(seconds):
    times, elapsed = poll_times(seconds)
    assert len(times) <= 30 * elapsed / 60.0
    busiest = max(sum(1 for moment in times if start <= moment < start + 60) for start in times)
    assert busiest <= 30


@pytest.mark.parametrize('finish, noticed_within', [(0.5, 2.0), (5.2, 2.0), (19.5, 2.0), (47.3, MAX_INTERVAL),
                                                    (1234.5, MAX_INTERVAL)])
def test_completion_is_noticed_promptly(finish, noticed_within):
    clock = FakeClock()
    _value, elapsed = waiter(3600, clock).wait(lambda: 'done' if clock.now >= finish else 'running', lambda value: value == 'done')
    assert finish <= elapsed <= finish + noticed_within


def test_timeout_carries_the_last_value():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        waiter(30, clock).wait(lambda: {'status': 'running', 'at': clock.now}, lambda value: False)
    assert caught.value.last['status'] == 'running'
    assert caught.value.elapsed == pytest.approx(30)


def test_zero_timeout_still_looks_once():
    clock = FakeClock()
    subject = waiter(0, clock)
    with pytest.raises(WaitTimeout):
        subject.wait(lambda: 'running', lambda value: False)
    assert subject.polls == 1
