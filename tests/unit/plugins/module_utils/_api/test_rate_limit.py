# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading Cloudflare's Ratelimit / Ratelimit-Policy headers, and the pause they call for, on a fake clock."""

from __future__ import annotations

import collections
import math
import random

import pytest
import requests

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.rate_limit import (
    Pacing, RateLimit, pace, parse_rate_limit, read_rate_limit, reserve)


@pytest.mark.parametrize('ratelimit, policy, expected', [
    ('"default";r=50;t=30', '"default";q=100;w=60', RateLimit('default', 50, 30.0, 100, 60.0, 7.0)),
    ('"default";r=50;t=30', None, RateLimit('default', 50, 30.0, None, None, 7.0)),
    ('default;r=0;t=12.5', 'default;q=1200;w=300', RateLimit('default', 0, 12.5, 1200, 300.0, 7.0)),
    # Several limits: the tightest (fewest requests per second left) is kept, with the policy of its name.
    ('"default";r=900;t=200, "burst";r=2;t=10', '"default";q=1200;w=300, "burst";q=10;w=10',
     RateLimit('burst', 2, 10.0, 10, 10.0, 7.0)),
    ('"a";r=9;t=1,"b";r=0;t=3,"c";r=0;t=2', None, RateLimit('b', 0, 3.0, None, None, 7.0)),
    # Unreadable items and parameters are left out; what can be read is kept.
    ('garbage, "default";r=5;t=60;x=@@', '"default";q=oops;w=60', RateLimit('default', 5, 60.0, None, 60.0, 7.0)),
    ('"x";r=abc;t=5, "y";r=3;t=9', '', RateLimit('y', 3, 9.0, None, None, 7.0)),
    ('"with, comma; inside";r=4;t=8', '"with, comma; inside";q=40;w=80', RateLimit('with, comma; inside', 4, 8.0, 40, 80.0, 7.0)),
])
def test_rate_limit_headers_are_read(ratelimit, policy, expected):
    assert parse_rate_limit(ratelimit, policy, at=7.0) == expected


@pytest.mark.parametrize('ratelimit', [None, '', 'nonsense', ';;;', ',,', '"default";r=-1;t=5', '"default";r=5', '"default";t=5',
                                       '"default";r=1.5;t=5', '"default";r=5;t=-1', '"unterminated;r=1;t=1', '"d";r=?1;t=1',
                                       '"d";r="5";t=1', 42])
def test_unreadable_rate_limit_headers_give_no_reading(ratelimit):
    assert parse_rate_limit(ratelimit, '"default";q=100;w=60') is None


@pytest.mark.parametrize('reading, later, expected', [
    (None, 0, 0.0),
    # More than the reserve left (a quarter of the quota, or 100 requests without a policy): no pause.
    (RateLimit('default', 301, 200.0, 1200, 300.0, 1000.0), 0, 0.0),
    (RateLimit('default', 11, 20.0, 40, 30.0, 1000.0), 0, 0.0),
    (RateLimit('default', 101, 200.0, None, None, 1000.0), 0, 0.0),
    # Down to the reserve: until the reset.
    (RateLimit('default', 300, 150.0, 1200, 300.0, 1000.0), 0, 150.0),
    (RateLimit('default', 151, 60.0, 1200, 300.0, 1000.0), 20, 40.0),
    (RateLimit('default', 10, 20.0, 40, 30.0, 1000.0), 0, 20.0),
    (RateLimit('default', 6, 20.0, 40, 30.0, 1000.0), 5, 15.0),
    # Half the reserve gone: until a whole window has passed since the reading (the reset, if that is later).
    (RateLimit('default', 150, 60.0, 1200, 300.0, 1000.0), 0, 300.0),
    (RateLimit('default', 5, 20.0, 40, 30.0, 1000.0), 0, 30.0),
    (RateLimit('default', 0, 300.0, 1200, 300.0, 1000.0), 120, 180.0),
    (RateLimit('default', 0, 301.0, 1200, 300.0, 1000.0), 0, 301.0),
    # Without a policy there is no window to wait for: the reset, however few are left.
    (RateLimit('default', 100, 50.0, None, None, 1000.0), 0, 50.0),
    (RateLimit('default', 0, 50.0, None, None, 1000.0), 10, 40.0),
    # The reset (or the window) has passed since the reading: no pause.
    (RateLimit('default', 200, 30.0, 1200, 300.0, 1000.0), 30, 0.0),
    (RateLimit('default', 8, 20.0, 40, 30.0, 1000.0), 21, 0.0),
    (RateLimit('default', 0, 30.0, 1200, 300.0, 1000.0), 300, 0.0),
    (RateLimit('default', 3, 10.0, 40, 30.0, 1000.0), 31, 0.0),
])
def test_pace_keeps_the_reserve_until_the_reset(reading, later, expected):
    assert pace(reading, 1000.0 + later) == pytest.approx(expected)


@pytest.mark.parametrize('draw, reading, expected', [
    # Up to a tenth of the policy's window (30 s of Cloudflare's 300 s), scaled by the draw in [0, 1).
    (0.0, RateLimit('default', 200, 60.0, 1200, 300.0, 1000.0), 60.0),
    (0.5, RateLimit('default', 200, 60.0, 1200, 300.0, 1000.0), 75.0),
    (0.99, RateLimit('default', 2, 10.0, 40, 30.0, 1000.0), 32.97),
    # Without a policy: a tenth of the time to the reset.
    (0.5, RateLimit('default', 5, 60.0, None, None, 1000.0), 63.0),
    # No jitter while the quota lasts.
    (0.9, RateLimit('default', 500, 60.0, 1200, 300.0, 1000.0), 0.0),
])
def test_a_wait_for_the_reset_has_jitter_from_the_random_source(draw, reading, expected):
    assert pace(reading, 1000.0, lambda: draw) == pytest.approx(expected)


def test_the_pacing_is_a_value_the_caller_chooses():
    reading = RateLimit('default', 50, 60.0, 100, 120.0, 1000.0)
    assert pace(reading, 1000.0, lambda: 0.5, Pacing(reserve_share=0.4, reserve_requests=1, jitter_share=0.2)) == 0.0
    assert pace(reading, 1000.0, lambda: 0.5, Pacing(reserve_share=0.5, reserve_requests=1, jitter_share=0.2)) == 72.0
    assert reserve(reading) == 25.0 and reserve(reading._replace(quota=None)) == 100


class FixedWindows:
    """Cloudflare's quota on a fake clock as its headers describe it (limits.mdx: r left, t until the window resets):
    `quota` requests a window of `window` seconds; going over locks every user out."""

    def __init__(self, quota, window):
        self.quota, self.window = quota, window
        self.window_end, self.used, self.locked_out = 0.0, 0, False

    def answer(self, now):
        if now >= self.window_end:
            self.window_end, self.used = now + self.window, 0
        self.used += 1
        self.locked_out = self.locked_out or self.used > self.quota
        return headers(self.quota - self.used, self.window_end - now, self.quota, self.window)


class SlidingWindow(FixedWindows):
    """The simulator's stricter reading (tests/simulator/cfpcap_state.py): no more than `quota` requests in any
    `window` seconds, t the time until the oldest of them leaves the window, which frees one request, not the quota."""

    def __init__(self, quota, window):
        super().__init__(quota, window)
        self.times = collections.deque()

    def answer(self, now):
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        self.times.append(now)
        self.locked_out = self.locked_out or len(self.times) > self.quota
        return headers(self.quota - len(self.times), self.times[0] + self.window - now, self.quota, self.window)


def headers(remaining, reset, quota, window):
    return {'Ratelimit': '"default";r=%d;t=%d' % (max(0, remaining), math.ceil(reset)),
            'Ratelimit-Policy': '"default";q=%d;w=%d' % (quota, window)}


@pytest.mark.parametrize('windows', [FixedWindows, SlidingWindow])
@pytest.mark.parametrize('users, poll_interval', [(1, 0.5), (4, 2.0), (4, 0.5), (5, 0.1)])
def test_users_who_do_not_know_of_each_other_keep_within_the_quota_together(windows, users, poll_interval):
    """Users of one credential (40 requests a 30 s window: the reserve is 10) each send a request whenever their
    own interval and pace allow, as if alone, for ten minutes: together they never go over, and still use it."""
    quota, draws = windows(40, 30), random.Random(19)
    readings, next_at, sent, now = [None] * users, [0.0] * users, 0, 0.0
    while now < 600.0:
        for user in range(users):
            if now >= next_at[user]:
                pause = pace(readings[user], now, draws.random)
                if pause == 0.0:
                    readings[user] = read_rate_limit(quota.answer(now), now)
                    sent += 1
                    pause = poll_interval
                next_at[user] = now + pause
        now = round(now + 0.1, 1)
    assert not quota.locked_out
    assert sent >= min(600 / poll_interval * users, 20 * 15)  # at least half the quota of each of the 20 windows


def test_headers_are_read_whatever_their_case_at_the_time_given():
    headers = requests.structures.CaseInsensitiveDict({'RATELIMIT': '"default";r=5;t=30', 'ratelimit-policy': '"default";q=10;w=60'})
    assert read_rate_limit(headers, 42.0) == RateLimit('default', 5, 30.0, 10, 60.0, 42.0)
    assert read_rate_limit(requests.structures.CaseInsensitiveDict(), 42.0) is None


def test_pace_from_the_headers_waits_for_the_reset_once_down_to_the_reserve():
    reading = read_rate_limit({'Ratelimit': '"default";r=4;t=60', 'Ratelimit-Policy': '"default";q=1200;w=300'}, 100.0)
    assert [pace(reading, now) for now in (100.0, 120.0, 160.0, 400.0)] == [300.0, 280.0, 240.0, 0.0]
    reading = read_rate_limit({'Ratelimit': '"default";r=250;t=60', 'Ratelimit-Policy': '"default";q=1200;w=300'}, 100.0)
    assert [pace(reading, now) for now in (100.0, 120.0, 160.0, 170.0)] == [60.0, 40.0, 0.0, 0.0]
