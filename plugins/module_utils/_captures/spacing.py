# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Requests of one account spaced apart on one host: Cloudflare accepts one simple capture a minute per account
(collect-pcaps.mdx, "Packet capture limits"). Private to cloudflare.pcap; the interface may change in any release.

A queue (the rulebook's filter) gives each request a start, but a process can reach its request late (a busy host)
and meet the next one's start. So the requests that share a spacing file take an exclusive lock on it, wait until
their start and until `spacing` seconds after the last request recorded there, request, record the time and let go:
the requests of that host are never closer than `spacing`, whatever their processes' delays.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import math
import os
import time


class Spaced:
    """A context: entered once the request may go (the lock held, the waits done); on leaving, the time is recorded
    and the lock let go. `clock` and `sleep` are time.time and time.sleep but in tests."""

    def __init__(self, path, not_before=None, spacing=60.0, clock=None, sleep=None):
        self.path = path
        self.not_before = not_before
        self.spacing = spacing
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.handle = None
        self.waited = 0.0

    def __enter__(self):
        moments = [self.not_before] if self.not_before is not None else []
        if self.path is not None:
            last = self._lock_and_read_last()
            if last is not None:
                moments.append(last + self.spacing)
        self.waited = max(0.0, max(moments or [0.0]) - self.clock())
        if self.waited:
            self.sleep(self.waited)
        return self

    def _lock_and_read_last(self):
        """The time of the last request recorded in the file (None when there is none), the file locked."""
        directory = os.path.dirname(self.path) or '.'
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        self.handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), 'r+')
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        self.handle.seek(0)
        try:
            last = float(self.handle.read().strip() or 'nan')
        except ValueError:
            return None
        return None if math.isnan(last) else last

    def __exit__(self, *exc_info):
        if self.handle is None:
            return False
        try:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.write('%.3f\n' % self.clock())
            self.handle.flush()
        finally:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
        return False
