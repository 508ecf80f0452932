# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The waiter on a fake clock: its polling cadence, its timeout, and the pace and deadline of API polls."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import MAX_INTERVAL, Waiter, WaitTimeout

from ansible_collections.cloudflare.pcap.tests.unit.helpers import CAPTURE_ID, Reply, envelope
from ansible_collections.cloudflare.pcap.tests.unit.plugins.module_utils._api.fakes import FakeTime, get_capture, limited, make_client


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


def test_wait_paced_by_gives_every_poll_the_one_deadline_of_the_wait(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    polled_with = []

    def fetch(polling):
        polled_with.append(polling.deadline)
        return len(polled_with)

    value, _elapsed = _waiter.wait_paced_by(client, 30, fetch, lambda polls: polls == 3)
    assert value == 3
    assert polled_with == [1030.0] * 3  # computed once, when the wait began, not per poll


def test_a_failed_wait_leaves_the_clients_own_requests_without_a_deadline(stub_api):
    fake_time = FakeTime()
    client = make_client(stub_api, fake_time)
    stub_api.add(limited(30, status=503, code=7, message='unavailable'), limited(30, status=503, code=7, message='unavailable'),
                 Reply(200, envelope([])))
    # The poll's retry would wait 30 s, past the wait's 10 s: it fails at once, and the wait with it.
    with pytest.raises(CloudflareAPIError) as caught:
        _waiter.wait_paced_by(client, 10, get_capture, lambda capture: False)
    assert 'deadline spent: 10 s left, the next try would wait 30 s' in caught.value.message
    assert fake_time.slept == []
    # The client itself was not changed: its next request waits the 30 s (RETRY_BUDGET alone applies).
    assert client.request('GET', client.account_path('pcaps'), 'List packet captures') == []
    assert fake_time.slept == [30.0]


def client_whose_quota_runs_low(stub_api, fake_time):
    """A client whose next four answers spend a quota of 40 requests a 30 s window (the reserve is 10): 20, 9, 5
    then 9 left, the window resetting 20 s after each answer."""
    for remaining in (20, 9, 5, 9):
        stub_api.add(Reply(200, envelope({'id': CAPTURE_ID, 'status': 'running'}),
                           headers={'Ratelimit': '"default";r=%d;t=20' % remaining, 'Ratelimit-Policy': '"default";q=40;w=30'}))
    return make_client(stub_api, fake_time)


# 20 left: the waiter's own 2 s; 9 left (the reserve reached): until the reset, 20 s; 5 left (half the reserve
# gone): a whole window, 30 s; 9 left again, but the reset would come after the timeout of 60 s: the waiter sleeps
# out the 8 s left and gives up without spending another request.
PACED_SLEEPS = [2.0, 20.0, 30.0, 8.0]


def test_a_waiter_paced_by_the_client_keeps_the_reserve_of_the_quota(stub_api):
    fake_time = FakeTime()
    client = client_whose_quota_runs_low(stub_api, fake_time)
    waiter = Waiter(60, clock=fake_time.clock, sleep=fake_time.sleep, pace=client.pause)
    with pytest.raises(WaitTimeout):
        waiter.wait(lambda: get_capture(client), lambda capture: False)
    assert fake_time.slept == PACED_SLEEPS
    assert waiter.polls == 4 and len(stub_api.requests) == 4


def test_a_wait_sleeps_what_the_rate_limit_of_its_polls_calls_for(stub_api):
    fake_time = FakeTime()
    client = client_whose_quota_runs_low(stub_api, fake_time)
    with pytest.raises(WaitTimeout):
        _waiter.wait_paced_by(client, 60, get_capture, lambda capture: False)  # the call the capture and bucket waits make
    assert fake_time.slept == PACED_SLEEPS
    assert len(stub_api.requests) == 4
