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


@pytest.mark.parametrize('minutes', [1, 5, 60])
def test_waiting_costs_at_most_20_requests_a_minute(minutes):
    clock = FakeClock()
    subject = waiter(minutes * 60, clock)
    with pytest.raises(WaitTimeout):
        subject.wait(lambda: 'running', lambda value: value == 'done')
    assert subject.polls <= 20 * minutes + 3  # a few quick polls at the start catch pending -> running


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
