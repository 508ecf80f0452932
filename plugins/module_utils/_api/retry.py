# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which failed requests are tried again, and after how long. Private to cloudflare.pcap; the interface may change in
any release.

- Safe methods (GET, HEAD, PUT .../stop, DELETE) are retried after a transient status, a broken connection or a
  timeout; any method is retried when the connection was never made. POST is not: creating twice is worse.
- The wait is Cloudflare's Retry-After when it gives one, else a backoff with full jitter.
- A Retry-After longer than RETRY_AFTER_CAP is not waited for (a 429 of that length is Cloudflare's lock-out of the
  credential, up to 300 s), and retries of one request end by min(first failure + RETRY_BUDGET, deadline). A retry
  that would wait past either is refused with RetryRefused, which says why: the refusal travels on the exception.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email.utils
import math
import random
import re
import time

# Statuses worth another try for requests that are safe to repeat (GET, PUT .../stop, DELETE).
# 52x are Cloudflare's edge failing to reach or hear from the origin: transient, like 502-504.
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504, 520, 521, 522, 523, 524))
# POST is deliberately absent: creating a capture twice is worse than failing once.
SAFE_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE'))
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A longer Retry-After is not waited for: the request fails at once and says until when (a 429 of this length is
# Cloudflare's 5-minute lock-out of the credential).
RETRY_AFTER_CAP = 60.0
# No request keeps retrying for longer than this, whatever `retries` says; waits count.
RETRY_BUDGET = 120.0

# How an attempt failed without an answer: the connection was never made (nothing was sent), it broke or timed out
# after the request went out, or something else (TLS, a malformed URL...) that another try would not change.
NO_CONNECTION = 'no connection'
BROKEN_CONNECTION = 'broken connection'
OTHER_FAILURE = 'other'

_SECONDS = re.compile(r'^-?[0-9]{1,12}(\.[0-9]{1,3})?$')


class RetryRefused(Exception):
    """A retry that would be worth making but waits too long. `detail` says why; `retry_after_refused` is True when
    the wait refused was Cloudflare's Retry-After (not a backoff)."""

    def __init__(self, detail, retry_after_refused):
        self.detail = detail
        self.retry_after_refused = retry_after_refused
        super(RetryRefused, self).__init__(detail)


class RetryPolicy:
    """The retries of one request: at most `retries` of them, ending by min(first failure + RETRY_BUDGET, deadline).

    `deadline` is a time of `clock` (monotonic seconds), or None for the budget alone.
    """

    def __init__(self, method, retries, clock, deadline=None):
        self.method = method
        self.retries = retries
        self.clock = clock
        self.deadline = deadline
        self.failures = 0
        self.first_failure = None

    @property
    def left(self):
        """Retries still allowed."""
        return max(0, self.retries - self.failures)

    def wait_after(self, status=None, retry_after=None, failure=None):
        """Seconds to wait before trying again after an answer with `status` (and its Retry-After header value), or
        after a `failure` without an answer (NO_CONNECTION, BROKEN_CONNECTION, OTHER_FAILURE).

        None: not retried (nothing to retry, or no retries left); the caller reports the attempt as it is.
        Raises RetryRefused when the retry would wait longer than RETRY_AFTER_CAP or past the limit.
        """
        if not self.worth_retrying(status, failure):
            return None
        if self.first_failure is None:
            self.first_failure = self.clock()
        self.failures += 1
        if self.failures > self.retries:
            return None
        asked = retry_after_wait(retry_after)
        wait = asked if asked else backoff(self.failures)
        if asked is not None and beyond_cap(asked):
            raise RetryRefused('not retried: Cloudflare asked to wait %d s, longer than the %d s this client waits' % (
                math.ceil(asked), RETRY_AFTER_CAP), True)
        limit, limit_name = self.limit()
        left = limit - self.clock()
        if left <= 0 or wait > left:
            raise RetryRefused('%s spent: %s s left, the next try would wait %s s' % (
                limit_name, _seconds(max(0.0, left)), _seconds(wait)), asked is not None and wait == asked)
        return wait

    def worth_retrying(self, status=None, failure=None):
        if failure == NO_CONNECTION:
            return True  # nothing was sent, whatever the method
        if self.method not in SAFE_METHODS:
            return False
        return failure == BROKEN_CONNECTION or (failure is None and status in RETRY_STATUSES)

    def limit(self):
        """When the retries must end (monotonic time), and what that limit is called."""
        budget_end = self.first_failure + RETRY_BUDGET
        if self.deadline is not None and self.deadline < budget_end:
            return self.deadline, 'deadline'
        return budget_end, 'retry budget of %s s' % _seconds(RETRY_BUDGET)


def backoff(failures):
    """The wait after the n-th failure in a row: full jitter (random between 0 and an exponential ceiling) spreads the
    retries of parallel jobs apart."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (failures - 1))))


def beyond_cap(seconds):
    """A Retry-After this long is not waited for."""
    return seconds > RETRY_AFTER_CAP


def is_lock_out(status, retry_after, retry_after_refused):
    """A 429 whose Retry-After will not be waited for within this task: Cloudflare refuses the credential's calls
    until then, and the request fails at once saying so."""
    return status == 429 and retry_after is not None and (retry_after_refused or beyond_cap(retry_after))


def retry_after_seconds(value):
    """A Retry-After value as whole seconds, rounded up: either a number of seconds or an HTTP date; None when
    unreadable."""
    seconds = retry_after_wait(value)
    return None if seconds is None else int(math.ceil(seconds))


def retry_after_wait(value):
    """Seconds from now that a Retry-After value (seconds, or an HTTP date) asks to wait; None when unreadable."""
    seconds, moment = _read_retry_after(value)
    if moment is not None:
        return max(0.0, moment - time.time())
    return seconds


def retry_at(value):
    """When the wait of a Retry-After value ends: UTC, RFC 3339, whole seconds rounded up; None when unreadable."""
    seconds, moment = _read_retry_after(value)
    if moment is None:
        if seconds is None:
            return None
        moment = time.time() + seconds
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(math.ceil(moment)))


def _read_retry_after(value):
    """(seconds, None) for a number of seconds, (None, epoch time) for an HTTP date, (None, None) otherwise."""
    if value is None:
        return None, None
    value = value.strip()
    if _SECONDS.match(value):
        return max(0.0, float(value)), None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None, None
    if moment is None or moment.tzinfo is None:
        return None, None
    return None, moment.timestamp()


def _seconds(value):
    """A number of seconds for a message: whole when it is, else one decimal."""
    return '%d' % value if value == int(value) else '%.1f' % value
