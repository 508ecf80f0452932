# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cloudflare's rate limit as it reads in an answer's headers, and how long to pause so that it lasts: pure functions
of headers and time. Private to cloudflare.pcap; the interface may change in any release.

Cloudflare allows 1,200 requests per 5 minutes per credential, summed over everything that uses it; going over blocks
ALL calls for 5 minutes. Every answer says what is left in its ``Ratelimit`` / ``Ratelimit-Policy`` headers
(limits.mdx, updated 2026-04-20: ``"default";r=50;t=30``, r the remaining quota and t "the time next window resets";
``"default";q=1200;w=300``).

Many jobs, rulebooks and people may use one credential at once, and none knows of the others. So no user spends the
last part of the quota, its reserve: once an answer shows no more than the reserve left, the user waits until the
window resets, plus a random share of the window (jitter), so that the users who stopped together do not all come
back in the same second. After the reserve is reached each user sends at most one more request (the one whose answer
shows it) before waiting: the reserve absorbs up to that many users at once, with no coordination between them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import re

Pacing = collections.namedtuple('Pacing', 'reserve_share reserve_requests jitter_share')
Pacing.__doc__ = """How a user of the credential spends Cloudflare's quota: the share of the quota it leaves to others
(reserve_share of the policy's q; reserve_requests when the answer gives no policy), and the most jitter added to a
wait for the reset (jitter_share of the policy's window w, or of the time to the reset without a policy)."""

# A quarter of 1,200 is 300 requests: as many concurrent users of the credential as can each spend their one request
# past the reserve without reaching the lock-out. A tenth of the 5-minute window spreads their return over 30 s.
DEFAULT_PACING = Pacing(reserve_share=0.25, reserve_requests=100, jitter_share=0.1)

_INTEGER = re.compile(r'^-?[0-9]{1,15}$')
_DECIMAL = re.compile(r'^-?[0-9]{1,12}(\.[0-9]{1,3})?$')
_TOKEN = re.compile(r"^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*$")

RateLimit = collections.namedtuple('RateLimit', 'name remaining reset quota window at')
RateLimit.__doc__ = """One reading of Cloudflare's rate-limit headers: the limit's name, the requests remaining, the seconds
until its window resets (from the ``Ratelimit`` header: r, t), the quota and window seconds (from
``Ratelimit-Policy``: q, w; None when not given) and when it was read (monotonic seconds)."""


def read_rate_limit(headers, now):
    """The RateLimit of an answer's headers (a case-insensitive mapping), read at `now`; None when they have none
    that can be read."""
    return parse_rate_limit(headers.get('Ratelimit'), headers.get('Ratelimit-Policy'), now)


def reserve(reading, pacing=DEFAULT_PACING):
    """The requests of the quota left to the other users of the credential, for this reading."""
    if reading.quota:
        return reading.quota * pacing.reserve_share
    return pacing.reserve_requests


def pace(reading, now, jitter_source=None, pacing=DEFAULT_PACING):
    """Seconds to wait at least before the next request, from the latest reading (None: nothing known), at `now`
    (monotonic seconds, the clock of reading.at): 0 while more than the reserve is left, or once the window has
    reset since the reading; otherwise the time left until the reset plus jitter. `jitter_source` returns a float
    in [0, 1) (random.random; None: no jitter)."""
    if reading is None:
        return 0.0
    kept = reserve(reading, pacing)
    if reading.remaining > kept:
        return 0.0
    until = reading.reset
    if reading.remaining <= kept / 2 and reading.window:
        # Half the reserve is gone: more users than it absorbs, or a window that slides (it frees one request
        # after t, not the quota). After a whole window, nothing counted in this reading counts any more.
        until = max(until, reading.window)
    left = until - (now - reading.at)
    if left <= 0:
        return 0.0
    return left + jitter(reading, jitter_source, pacing)


def jitter(reading, jitter_source, pacing=DEFAULT_PACING):
    """A random pause of up to jitter_share of the window (of the time to the reset, without a policy)."""
    if jitter_source is None:
        return 0.0
    span = reading.window if reading.window else reading.reset
    return jitter_source() * pacing.jitter_share * span


def parse_rate_limit(ratelimit, policy=None, at=0.0):
    """A RateLimit from the values of the ``Ratelimit`` and ``Ratelimit-Policy`` headers, or None.

    Both are structured-field lists (``"default";r=50;t=30, "burst";r=2;t=1``; ``"default";q=100;w=60``). Items
    without a readable r (integer >= 0) and t (number >= 0) are ignored, as are unreadable parameters. Of several
    limits, the one that is tightest (fewest requests per remaining second) is kept, with the policy of its name.
    """
    if not isinstance(ratelimit, str):
        return None
    policies = {}
    for name, params in _structured_list(policy) if isinstance(policy, str) else []:
        quota, window = params.get('q'), params.get('w')
        policies.setdefault(name, (quota if _is_count(quota) else None, window if _is_duration(window) else None))
    tightest = None
    for name, params in _structured_list(ratelimit):
        remaining, reset = params.get('r'), params.get('t')
        if not (_is_count(remaining) and _is_duration(reset)):
            continue
        quota, window = policies.get(name, (None, None))
        reading = RateLimit(name, remaining, float(reset), quota, None if window is None else float(window), at)
        if tightest is None or _tightness(reading) > _tightness(tightest):
            tightest = reading
    return tightest


def _tightness(reading):
    return (reading.remaining == 0, reading.reset / reading.remaining if reading.remaining else reading.reset)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_duration(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _structured_list(value):
    """[(name, {param: value})] from a structured-field list, leniently: what cannot be read is left out."""
    items = []
    for member in _split_outside_quotes(value, ','):
        parts = _split_outside_quotes(member, ';')
        name = _bare_item(parts[0])
        if name is None or isinstance(name, bool):
            continue
        params = {}
        for part in parts[1:]:
            key, equals, raw = part.partition('=')
            key = key.strip().lower()
            item = _bare_item(raw) if equals else True
            if key and item is not None:
                params.setdefault(key, item)
        items.append((name, params))
    return items


def _split_outside_quotes(text, separator):
    pieces, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == '\\':
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append(''.join(current))
            current = []
            continue
        current.append(char)
    pieces.append(''.join(current))
    return pieces


def _bare_item(text):
    """A structured-field bare item: string, integer, decimal, token or boolean; None when unreadable."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r'\\(.)', r'\1', text[1:-1])
    if _INTEGER.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)
    if text in ('?1', '?0'):
        return text == '?1'
    if _TOKEN.match(text):
        return text
    return None
