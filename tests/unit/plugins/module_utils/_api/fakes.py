# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the _api tests share: a fake clock, a client on the stub server (tests/unit/conftest.py), scripted answers."""

from __future__ import annotations

import datetime
import re

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import CloudflareClient

from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope


class FakeTime:
    """The client's monotonic clock and sleep: sleeping only moves the clock on, and every wait is recorded."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


def make_client(stub_api, fake_time=None, **kwargs):
    """A client on the stub server; its waits go to `fake_time` (a new FakeTime if not given), never to real time,
    and its waits for the rate limit's reset have no jitter unless a `jitter_source` is given."""
    fake_time = fake_time or FakeTime()
    options = dict(account_id=ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, retries=2, timeout=5,
                   clock=fake_time.clock, sleep=fake_time.sleep, jitter_source=lambda: 0.0)
    options.update(kwargs)
    return CloudflareClient(**options)


def utc_seconds(text):
    """RFC 3339 UTC time with Z -> seconds since the epoch; fails on any other shape."""
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', text), text
    return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()


def limited(retry_after=None, status=429, code=10429, message='Rate limited'):
    headers = {'Retry-After': str(retry_after)} if retry_after is not None else {}
    return Reply(status, envelope(None, False, [{'code': code, 'message': message}]), headers=headers)


def get_capture(client):
    return client.request('GET', client.account_path('pcaps', CAPTURE_ID), 'Get packet capture')
