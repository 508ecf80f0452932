# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Poll until a condition holds or wait_timeout passes. Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

# The account-wide budget is 1200 requests per 5 minutes (4 per second) for everything the account does. A wait
# polls every FIRST_INTERVAL seconds for QUICK_PHASE seconds, where short captures finish, then slows down to one
# every MAX_INTERVAL seconds: never more than 30 requests a minute, however short or long the wait, and completion
# is noticed within FIRST_INTERVAL seconds early on and within MAX_INTERVAL seconds later.
FIRST_INTERVAL = 2.0
QUICK_PHASE = 20.0
GROWTH = 1.5
MAX_INTERVAL = 3.0


class WaitTimeout(Exception):
    """The condition did not hold in time; `last` is the last value seen."""

    def __init__(self, last, elapsed):
        self.last = last
        self.elapsed = elapsed
        super(WaitTimeout, self).__init__('still waiting after %d s' % elapsed)


class Waiter:
    """fetch() until done(value) is true, sleeping an adaptive interval between polls.

    `pace`, when given, is a callable returning the seconds to wait at least before the next poll (the API's rate
    limit: CloudflareClient.pause). The waiter sleeps max(its own interval, pace()), never past its timeout; when
    the pace reaches past the timeout, it sleeps until the timeout and gives up without spending another request.
    """

    def __init__(self, timeout, clock=time.monotonic, sleep=time.sleep, pace=None):
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.pace = pace
        self.polls = 0

    def wait(self, fetch, done, first=None):
        """Return (value, elapsed seconds). `first` is a value already in hand, to save one request."""
        start = self.clock()
        value = first
        interval = FIRST_INTERVAL
        while True:
            if value is None:
                value = fetch()
                self.polls += 1
            if done(value):
                return value, self.clock() - start
            elapsed = self.clock() - start
            remaining = self.timeout - elapsed
            if remaining <= 0:
                raise WaitTimeout(value, elapsed)
            if elapsed >= QUICK_PHASE:
                interval = min(MAX_INTERVAL, interval * GROWTH)
            pause = self.pace() if self.pace is not None else 0.0
            if pause > remaining:
                # The rate limit allows no poll before the timeout: another one would only spend the quota.
                self.sleep(remaining)
                raise WaitTimeout(value, self.clock() - start)
            self.sleep(min(max(interval, pause), remaining))
            value = None


def wait_paced_by(client, timeout, fetch, done, first=None):
    """Waiter(timeout).wait() for API polls. The wait's deadline is computed once, here: `fetch(client)` is given the
    client with that deadline (CloudflareClient.until), so that the retries of every poll end with the wait. Once
    Cloudflare's Ratelimit header says the credential's quota is down to its reserve, the next poll waits for the
    reset (CloudflareClient.pause). The wait runs on the client's clock, like its deadline and readings."""
    polling = client.until(client.clock() + max(0.0, timeout))
    waiter = Waiter(timeout, clock=client.clock, sleep=client.sleep, pace=client.pause)
    return waiter.wait(lambda: fetch(polling), done, first=first)
