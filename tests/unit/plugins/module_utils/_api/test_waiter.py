# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The waiter on a fake clock: its polling cadence and its timeout."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import MAX_INTERVAL, Waiter, WaitTimeout


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


def record_sleeps(clock):
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.sleep(seconds)
    return slept, sleep


@pytest.mark.parametrize('pace, expected', [(0.0, [2.0, 2.0, 2.0]), (1.0, [2.0, 2.0, 2.0]), (5.0, [5.0, 5.0, 5.0]),
                                            (12.5, [12.5, 12.5, 12.5])])
def test_sleeps_the_longer_of_its_interval_and_the_pace(pace, expected):
    clock = FakeClock()
    slept, sleep = record_sleeps(clock)
    answers = iter(['running', 'running', 'done'])
    subject = Waiter(600, clock=clock, sleep=sleep, pace=lambda: pace)
    assert subject.wait(lambda: next(answers), lambda value: value == 'done', first='pending')[0] == 'done'
    assert slept == expected


def test_the_pace_is_asked_before_every_sleep():
    clock = FakeClock()
    slept, sleep = record_sleeps(clock)
    paces = iter([0.0, 30.0, 0.0])
    answers = iter(['running', 'running', 'done'])
    Waiter(600, clock=clock, sleep=sleep, pace=lambda: next(paces)).wait(lambda: next(answers), lambda value: value == 'done',
                                                                         first='pending')
    assert slept == [2.0, 30.0, 3.0]  # past QUICK_PHASE the waiter's own interval has grown to MAX_INTERVAL


@pytest.mark.parametrize('timeout, pace', [(30, 7.0), (30, 29.0), (30, 30.0), (10, 3.3), (100, 0.0), (5, 1.0)])
def test_never_sleeps_past_its_timeout(timeout, pace):
    clock = FakeClock()
    slept, sleep = record_sleeps(clock)
    with pytest.raises(WaitTimeout) as caught:
        Waiter(timeout, clock=clock, sleep=sleep, pace=lambda: pace).wait(lambda: 'running', lambda value: False)
    assert sum(slept) == pytest.approx(timeout)
    assert caught.value.elapsed == pytest.approx(timeout)
    assert all(seconds >= min(pace, 2.0) for seconds in slept[:-1])


def test_a_pace_beyond_the_timeout_spends_no_more_requests():
    # No quota left until after the timeout: a poll now would only run into Cloudflare's 429 lock-out.
    clock = FakeClock()
    slept, sleep = record_sleeps(clock)
    fetched = []
    subject = Waiter(60, clock=clock, sleep=sleep, pace=lambda: 300.0)
    with pytest.raises(WaitTimeout) as caught:
        subject.wait(lambda: fetched.append(clock.now) or 'running', lambda value: False, first='pending')
    assert fetched == [] and subject.polls == 0
    assert slept == [60.0]
    assert caught.value.last == 'pending' and caught.value.elapsed == pytest.approx(60)


def test_without_pace_the_cadence_is_unchanged():
    clock = FakeClock()
    slept, sleep = record_sleeps(clock)
    with pytest.raises(WaitTimeout):
        Waiter(30, clock=clock, sleep=sleep).wait(lambda: 'running', lambda value: False)
    assert slept[:10] == [2.0] * 10 and max(slept) <= MAX_INTERVAL


class RecordingClient:
    """What wait_paced_by needs of a CloudflareClient: the deadline and the pace."""

    def __init__(self, pace):
        self.deadlines = []
        self._pace = pace

    def set_deadline(self, seconds):
        self.deadlines.append(seconds)

    def pace(self):
        return self._pace


def test_wait_paced_by_sets_the_deadline_for_the_wait_and_clears_it(monkeypatch):
    from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
    client = RecordingClient(pace=0.0)
    value, _elapsed = _waiter.wait_paced_by(client, 30, lambda: 3, lambda current: current == 3)
    assert value == 3
    assert client.deadlines == [30, None]


def test_wait_paced_by_clears_the_deadline_when_the_wait_fails():
    from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
    client = RecordingClient(pace=0.0)

    def broken():
        raise RuntimeError('poll failed')

    with pytest.raises(RuntimeError):
        _waiter.wait_paced_by(client, 30, broken, lambda current: False)
    assert client.deadlines == [30, None]
