# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The capture operations: create once (reuse, adopt), get, list, stop, download, wait; capture statuses.
Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.cloudflare.pcap.plugins.module_utils._client import CloudflareAPIError, expect_record, expect_records
from ansible_collections.cloudflare.pcap.plugins.module_utils._waiter import Waiter

# Capture statuses: the API's enum, grouped by what a caller does next.
STATUSES = ('unknown', 'pending', 'running', 'conversion_pending', 'conversion_running', 'success', 'complete', 'failed')
ACTIVE_STATUSES = frozenset(('pending', 'running'))
DONE_STATUSES = frozenset(('success', 'complete'))
FAILED_STATUSES = frozenset(('failed',))
TERMINAL_STATUSES = DONE_STATUSES | FAILED_STATUSES

# API operations. Each returns the envelope's result; failures raise CloudflareAPIError.

def create_capture(client, body):
    operation = 'Create packet capture'
    return expect_record(client.request('POST', client.account_path('pcaps'), operation, body=body), operation, 'a capture object')


def get_capture(client, capture_id, missing_ok=False):
    """The capture, or None when Cloudflare says it does not exist and `missing_ok` is set."""
    operation = 'Get packet capture %s' % capture_id
    try:
        result = client.request('GET', client.account_path('pcaps', capture_id), operation)
    except CloudflareAPIError as error:
        if missing_ok and error.status == 404:
            return None
        raise
    return expect_record(result, operation, 'a capture object')


def download_capture(client, capture_id, write):
    """Stream a simple capture's libpcap file into write(chunk); returns the number of bytes."""
    return client.download(client.account_path('pcaps', capture_id, 'download'), 'Download packet capture %s' % capture_id,
                           write, accept='application/vnd.tcpdump.pcap, application/json')


def stop_capture(client, capture_id):
    client.request('PUT', client.account_path('pcaps', capture_id, 'stop'), 'Stop packet capture %s' % capture_id)


def list_captures(client, operation='List packet captures'):
    return expect_records(client.request('GET', client.account_path('pcaps'), operation), operation, 'captures')


def same_parameters(capture, body):
    """Whether an existing capture was requested with exactly this body (what Cloudflare echoes back)."""
    for field, wanted in body.items():
        have = capture.get(field)
        if field == 'filter_v1':
            have = dict((key, value) for key, value in (have or {}).items() if value is not None)
        if have != wanted:
            return False
    return True


def request_capture(client, body, force=False):
    """Create a capture once. Returns (capture, outcome), outcome being 'created', 'reused' or 'adopted'.

    Creating is not idempotent, so: an identical capture that is still pending or running is reused (unless
    `force`), the POST is never retried, and when its outcome is unknown (timeout, reset, 5xx after sending) the
    account's captures are listed to adopt the one this request created, if any.
    """
    # Named after what the user asked for: a failure here is a failure to create.
    try:
        existing = list_captures(client, 'Create packet capture')
    except CloudflareAPIError as error:
        if not force:
            error.add_detail('looking for an identical capture in progress failed, so none was requested; '
                             'force=true requests one without that check')
            raise
        existing = None  # forced: create anyway, but a lost answer can then not be told apart
    if not force:
        for capture in existing:
            if capture.get('status') in ACTIVE_STATUSES and same_parameters(capture, body):
                return capture, 'reused'
    try:
        return create_capture(client, body), 'created'
    except CloudflareAPIError as error:
        if error.status == 429 and existing:
            explain_limit(error, body, existing)
        if not error.outcome_unknown:
            raise
        unknown = error
    if existing is None:
        unknown.add_detail('the capture may exist: look with capture_info before running the task again')
        raise unknown
    try:
        after = list_captures(client, 'Create packet capture')
    except CloudflareAPIError as error:
        unknown.add_detail('checking whether the capture was created failed too (%s), so it may exist: look with '
                           'capture_info before running the task again' % error.message)
        raise unknown
    known_ids = set(capture.get('id') for capture in existing)
    for capture in after:
        if capture.get('id') not in known_ids and same_parameters(capture, body):
            return capture, 'adopted'
    unknown.add_detail('Cloudflare lists no new capture with these parameters (checked afterwards)')
    unknown.outcome_unknown = False
    raise unknown


def explain_limit(error, body, existing):
    """Name the capture that stands in the way of Cloudflare's one-at-a-time rules, and what to do about it."""
    if body['type'] == 'full':
        active = [capture for capture in existing if capture.get('type') == 'full' and capture.get('status') in ACTIVE_STATUSES]
        if active:
            error.add_detail('in the way: full capture %s, %s since %s; Cloudflare runs one full capture at a time: '
                             'stop it with cloudflare.pcap.capture_stop or wait for it' % (
                                 active[0].get('id'), active[0].get('status'), active[0].get('submitted', '?')))
        return
    simple = [capture for capture in existing if capture.get('type') == 'simple' and capture.get('submitted')]
    if simple:
        latest = max(simple, key=lambda capture: capture['submitted'])
        error.add_detail('in the way: simple capture %s, submitted %s; Cloudflare accepts one simple capture a '
                         'minute' % (latest.get('id'), latest['submitted']))


def wait_for_capture(client, capture, timeout):
    """Poll a capture until it reaches a terminal status. Returns (capture, elapsed); raises WaitTimeout."""
    waiter = Waiter(timeout)
    return waiter.wait(lambda: get_capture(client, capture['id']), lambda current: current.get('status') in TERMINAL_STATUSES,
                       first=capture)


def still_waiting_message(capture_id, timeout):
    """The message for a WaitTimeout: which capture, what it last was, how long was waited."""
    return 'Packet capture %s is still %s after waiting %d s (wait_timeout)' % (
        capture_id, timeout.last.get('status'), timeout.elapsed)


def failure_message(capture):
    return 'Packet capture %s failed: %s' % (
        capture.get('id'), capture.get('error_message') or 'Cloudflare gave no error_message')
