# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading Cloudflare's Ratelimit / Ratelimit-Policy headers, and the pause they call for."""

from __future__ import annotations

import pytest
import requests

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.rate_limit import RateLimit, pace, parse_rate_limit, read_rate_limit


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
    # Plenty left: no pause (more than a quarter of the quota, or more than 100 requests without a policy).
    (RateLimit('default', 301, 200.0, 1200, 300.0, 1000.0), 0, 0.0),
    (RateLimit('default', 101, 200.0, None, None, 1000.0), 0, 0.0),
    # Little left: the time to the reset spread over the requests left.
    (RateLimit('default', 300, 150.0, 1200, 300.0, 1000.0), 0, 0.5),
    (RateLimit('default', 10, 60.0, 1200, 300.0, 1000.0), 0, 6.0),
    (RateLimit('default', 10, 60.0, 1200, 300.0, 1000.0), 20, 4.0),
    (RateLimit('default', 100, 50.0, None, None, 1000.0), 0, 0.5),
    (RateLimit('default', 1, 45.0, 100, 60.0, 1000.0), 0, 45.0),
    # None left: until the reset.
    (RateLimit('default', 0, 300.0, 1200, 300.0, 1000.0), 0, 300.0),
    (RateLimit('default', 0, 300.0, 1200, 300.0, 1000.0), 120, 180.0),
    # The window has reset since the reading: no pause.
    (RateLimit('default', 0, 30.0, 1200, 300.0, 1000.0), 30, 0.0),
    (RateLimit('default', 3, 30.0, 1200, 300.0, 1000.0), 31, 0.0),
])
def test_pace(reading, later, expected):
    assert pace(reading, 1000.0 + later) == pytest.approx(expected)


def test_headers_are_read_whatever_their_case_at_the_time_given():
    headers = requests.structures.CaseInsensitiveDict({'RATELIMIT': '"default";r=5;t=30', 'ratelimit-policy': '"default";q=10;w=60'})
    assert read_rate_limit(headers, 42.0) == RateLimit('default', 5, 30.0, 10, 60.0, 42.0)
    assert read_rate_limit(requests.structures.CaseInsensitiveDict(), 42.0) is None


def test_pace_from_the_headers_spreads_the_rest_of_the_window_over_the_requests_left():
    reading = read_rate_limit({'Ratelimit': '"default";r=4;t=60', 'Ratelimit-Policy': '"default";q=1200;w=300'}, 100.0)
    assert [pace(reading, now) for now in (100.0, 120.0, 160.0, 170.0)] == [15.0, 10.0, 0.0, 0.0]
