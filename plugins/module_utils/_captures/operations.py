# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The capture operations: create once (reuse, adopt), get, list, stop, download, wait; capture statuses.
Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import is_cloudflare_id
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import (
    CloudflareAPIError,
    expect_record,
    expect_records,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._normalise import comparable_filter, comparable_value, parse_timestamp
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.waiter import wait_paced_by

# Capture statuses: the API's enum (pcaps_status), grouped by what a caller does next. `success` and `complete`
# both mean finished, whatever the type (collect-pcaps.mdx: fetch once `success`; the dashboard says "Complete").
# `unknown` is neither finished nor in progress: a wait gives up on it (UNKNOWN_POLLS) instead of looping on it.
STATUSES = ('unknown', 'pending', 'running', 'conversion_pending', 'conversion_running', 'success', 'complete', 'failed')
ACTIVE_STATUSES = frozenset(('pending', 'running'))
DONE_STATUSES = frozenset(('success', 'complete'))
FAILED_STATUSES = frozenset(('failed',))
TERMINAL_STATUSES = DONE_STATUSES | FAILED_STATUSES
UNKNOWN_STATUS = 'unknown'
# Polls in a row that must report `unknown` before a wait stops: once could be a passing state.
UNKNOWN_POLLS = 3

# What a capture echoes, per type: the fields of pcaps_response_simple / pcaps_response_full that a request sets.
# Neither has packet_limit, so two requests that differ only in packet_limit cannot be told apart.
ECHOED_FIELDS = {
    'simple': ('type', 'system', 'time_limit', 'filter_v1', 'offset_time'),
    'full': ('type', 'system', 'time_limit', 'filter_v1', 'byte_limit', 'colo_name', 'destination_conf'),
}
# The capture list returns at most this many captures (collect-pcaps.mdx), so a capture may exist unlisted.
LIST_CAP = 50
# Cloudflare accepts one simple capture a minute (collect-pcaps.mdx).
SIMPLE_CAPTURE_INTERVAL = 60


# API operations. Each returns the envelope's result; failures raise CloudflareAPIError.


def create_capture(client, body):
    operation = 'Create packet capture'
    return expect_capture(client.request('POST', client.account_path('pcaps'), operation, body=body), operation)


def get_capture(client, capture_id, missing_ok=False):
    """The capture, or None when Cloudflare says it does not exist and `missing_ok` is set."""
    operation = 'Get packet capture %s' % capture_id
    try:
        result = client.request('GET', client.account_path('pcaps', capture_id), operation)
    except CloudflareAPIError as error:
        if missing_ok and error.status == 404:
            return None
        raise
    return expect_capture(result, operation)


def expect_capture(result, operation):
    """A capture object whose id can go into a URL; anything else after a success is an unknown outcome."""
    capture = expect_record(result, operation, 'a capture object')
    if not is_cloudflare_id(capture['id']):
        raise CloudflareAPIError(operation, 'Cloudflare answered with the capture id %r, which is not 32 hexadecimal '
                                            'characters' % (capture['id'],), outcome_unknown=True)
    return capture


def download_capture(client, capture_id, write):
    """Stream a simple capture's libpcap file into write(chunk); returns the number of bytes."""
    return client.download(client.account_path('pcaps', capture_id, 'download'), 'Download packet capture %s' % capture_id,
                           write, accept='application/vnd.tcpdump.pcap, application/json')


def stop_capture(client, capture_id):
    client.request('PUT', client.account_path('pcaps', capture_id, 'stop'), 'Stop packet capture %s' % capture_id)


def list_captures(client, operation='List packet captures'):
    return expect_records(client.request('GET', client.account_path('pcaps'), operation), operation, 'captures')


def same_parameters(capture, body):
    """Whether an existing capture was requested like this body, judged on what Cloudflare echoes of it.

    Both sides are put in normal form first (Cloudflare may write back what it echoes in its own form). A field the
    body sets but the capture does not echo cannot be compared and does not tell them apart; a field the body does
    not set (say, offset_time, which defaults to the time of the request) is not compared either. filter_v1 is
    compared whole: no filter captures everything.
    """
    if capture.get('type', 'simple') != body['type']:
        return False
    for field in ECHOED_FIELDS[body['type']]:
        if field == 'filter_v1':
            if comparable_filter(capture.get('filter_v1')) != comparable_filter(body.get('filter_v1')):
                return False
        elif field in body and capture.get(field) is not None:
            if comparable_value(field, capture[field]) != comparable_value(field, body[field]):
                return False
    return True


def identical_active(captures, body):
    return [capture for capture in captures if capture.get('status') in ACTIVE_STATUSES and same_parameters(capture, body)]


class CaptureRequest:
    """Create one capture for a body, at most once. `run()` returns (capture, outcome), outcome being 'created',
    'reused' or 'adopted'; `warnings` says what the caller should tell the user.

    Creating is not idempotent, so: an identical capture that is still pending or running is reused (unless
    `force`), the POST is never retried, and when its outcome is unknown (timeout, reset, 5xx after sending) the
    account's captures are listed again to adopt the one this request created. A capture counts as created by it
    only when it was not listed before and its echoed fields match; with more than one such capture nothing is
    guessed.
    """

    OPERATION = 'Create packet capture'

    def __init__(self, client, body, force=False):
        self.client = client
        self.body = body
        self.force = force
        self.warnings = []

    def run(self):
        existing = self._list_before()
        if existing is not None and not self.force:
            identical = identical_active(existing, self.body)
            if identical:
                self._warn_if_several(identical)
                return self._checked(identical[0]), 'reused'
        try:
            return create_capture(self.client, self.body), 'created'
        except CloudflareAPIError as error:
            if error.status == 429 and existing is not None:
                return self._after_refusal(error, existing)
            if not error.outcome_unknown:
                raise
            if existing is None:
                error.add_detail('the capture may exist: look with capture_info before running the task again')
                raise
            return self._adopt(error, existing)

    def predict(self):
        """What run() would do, judged from one read (the capture list), which also proves that the credentials
        reach the account: (the capture that would be reused, 'reused') or (None, 'created'). Check mode may read,
        never write, so nothing is created; a failed read raises, as it would fail the real run."""
        try:
            existing = self._read_list('List packet captures')
        except CloudflareAPIError as error:
            error.add_detail('check mode verifies the credentials and the account by reading the capture list; %s'
                             % what_would_help(error, self.client.base_url))
            raise
        if not self.force:
            identical = identical_active(existing, self.body)
            if identical:
                self._warn_if_several(identical)
                return self._checked(identical[0]), 'reused'
        self._warn_if_within_the_minute(existing)
        return None, 'created'

    def _list_before(self):
        try:
            return self._read_list(self.OPERATION)
        except CloudflareAPIError as error:
            if not self.force:
                error.add_detail('looking for an identical capture in progress failed, so none was requested; %s'
                                 % what_would_help(error, self.client.base_url))
                raise
            return None  # forced: create anyway, but a lost answer can then not be told apart

    def _read_list(self, operation):
        """The account's captures. An error says, as `answered`, whether Cloudflare answered success with
        something that is no list: only then can force=true get past it."""
        answered = False
        try:
            answer = self.client.request('GET', self.client.account_path('pcaps'), operation)
            answered = True
            return expect_records(answer, operation, 'captures')
        except CloudflareAPIError as error:
            error.answered = answered
            raise

    def _warn_if_within_the_minute(self, existing):
        """Check mode cannot ask Cloudflare whether it would accept a simple capture now: warn when the last one
        was submitted less than a minute ago by this host's clock."""
        latest = latest_simple(existing) if self.body['type'] == 'simple' else None
        submitted = parse_timestamp(latest['submitted']) if latest is not None else None
        age = (datetime.datetime.now(submitted.tzinfo) - submitted).total_seconds() if submitted else None
        if age is not None and 0 <= age < SIMPLE_CAPTURE_INTERVAL:
            self.warnings.append('Simple capture %s was submitted at %s, less than a minute ago: Cloudflare accepts one '
                                 'simple capture a minute, so a real run now may be refused (HTTP 429); run it after '
                                 'the minute has passed' % (latest.get('id'), latest['submitted']))

    def _after_refusal(self, error, existing):
        """A 429 may come from a parallel task (hosts: all without run_once) that created the same capture just now."""
        if not self.force and not error.locked_out:
            try:
                now_listed = list_captures(self.client, self.OPERATION)
            except CloudflareAPIError:
                now_listed = existing
            known = set(capture.get('id') for capture in existing)
            raced = [capture for capture in identical_active(now_listed, self.body) if capture.get('id') not in known]
            if raced:
                self._warn_if_several(raced)
                self.warnings.append('Cloudflare refused a second capture (HTTP 429) because an identical one, %s, was '
                                     'requested at the same time, probably by this task on another host: it is used. Add '
                                     'run_once: true to a capture task that runs for several hosts.' % raced[0]['id'])
                return self._checked(raced[0]), 'reused'
            in_the_way = latest_simple(now_listed) if self.body['type'] == 'simple' else None
            if in_the_way is not None and in_the_way.get('status') not in FAILED_STATUSES \
                    and same_parameters(in_the_way, self.body):
                # A re-run within the minute (say, after a later task failed): the capture it asks for exists.
                self.warnings.append('Cloudflare accepts one simple capture a minute, and capture %s, requested the same '
                                     'way at %s, is %s: it is used. force=true requests a new one once the minute has '
                                     'passed.' % (in_the_way['id'], in_the_way.get('submitted', '?'),
                                                  in_the_way.get('status')))
                return self._checked(in_the_way), 'reused'
            existing = now_listed
        explain_limit(error, self.body, existing)
        raise error

    def _adopt(self, unknown, existing):
        try:
            after = list_captures(self.client, self.OPERATION)
        except CloudflareAPIError as error:
            unknown.add_detail('checking whether the capture was created failed too (%s), so it may exist: look with '
                               'capture_info before running the task again' % error.message)
            raise unknown
        known = set(capture.get('id') for capture in existing)
        candidates = [capture for capture in after if capture.get('id') not in known and same_parameters(capture, self.body)]
        if len(candidates) == 1:
            self.warnings.append('The answer to the create request was lost; capture %s, which that request created, '
                                 'is used.' % candidates[0]['id'])
            return self._checked(candidates[0]), 'adopted'
        if candidates:
            unknown.add_detail('Cloudflare now lists %d new captures with these parameters (%s), so which one this request '
                               'created cannot be told; none is used: look with capture_info, and stop or ignore the '
                               'others' % (len(candidates), ', '.join(str(capture.get('id')) for capture in candidates)))
            raise unknown
        if len(after) >= LIST_CAP:
            unknown.add_detail('Cloudflare lists no new capture with these parameters, but it lists only %d captures, so '
                               'the capture may still exist: look with capture_info before running the task again' % LIST_CAP)
            raise unknown
        unknown.add_detail('Cloudflare lists no new capture with these parameters (checked afterwards), so none was '
                           'created')
        unknown.outcome_unknown = False
        raise unknown

    def _warn_if_several(self, identical):
        if len(identical) > 1:
            self.warnings.append('Cloudflare lists %d identical captures in progress: %s. Parallel tasks (hosts: all with '
                                 'delegate_to: localhost, without run_once: true) may have requested them; the first is '
                                 'used.' % (len(identical), ', '.join(str(capture.get('id')) for capture in identical)))

    def _checked(self, capture):
        return expect_capture(capture, self.OPERATION)


def request_capture(client, body, force=False):
    """Create a capture once (see CaptureRequest). Returns (capture, outcome, warnings)."""
    request = CaptureRequest(client, body, force)
    capture, outcome = request.run()
    return capture, outcome, request.warnings


def predict_request(client, body, force=False):
    """What request_capture would do, from one read (see CaptureRequest.predict). Returns (capture or None,
    outcome, warnings)."""
    request = CaptureRequest(client, body, force)
    capture, outcome = request.predict()
    return capture, outcome, request.warnings


def what_would_help(error, base_url):
    """After the capture list failed: what would get past it. force=true skips the list, but the create request
    goes to the same place with the same credential, so it helps only when Cloudflare answered and the list alone
    was unusable (HTTP 5xx, or a success without a list)."""
    if error.locked_out:
        return ('wait until %s (retry_at): Cloudflare refuses every call of this credential until then, force=true '
                'included' % (error.retry_at or 'the time Cloudflare gave'))
    if error.status in (401, 403):
        return ('check the credential and account_id: the token must be valid and have the permission Magic Firewall '
                'Packet Captures - Write PCAPs API on that account, and the account must have packet captures enabled; '
                'force=true does not help')
    if error.status == 429:
        return 'wait %s and run the task again; force=true does not help' % (
            '%d s (retry_after)' % error.retry_after if error.retry_after is not None else 'a minute')
    if error.status is not None and error.status >= 500 or getattr(error, 'answered', False):
        return ('force=true requests one without that check, at the risk of a second capture if an identical one is '
                'in progress')
    if error.status is None:
        return ('check base_url (%s) and the network between this host and it (DNS, proxy, firewall); the create '
                'request would go the same way, so force=true does not help' % base_url)
    return ('check account_id and base_url (%s): Cloudflare has no packet captures there for this account; '
            'force=true does not help' % base_url)


def explain_limit(error, body, existing):
    """Name the capture that stands in the way of Cloudflare's one-at-a-time rules, and what to do about it."""
    if body['type'] == 'full':
        active = [capture for capture in existing if capture.get('type') == 'full' and capture.get('status') in ACTIVE_STATUSES]
        if active:
            error.add_detail('in the way: full capture %s, %s since %s; Cloudflare runs one full capture at a time: '
                             'stop it with cloudflare.pcap.capture_stop or wait for it' % (
                                 active[0].get('id'), active[0].get('status'), active[0].get('submitted', '?')))
        return
    latest = latest_simple(existing)
    if latest is not None:
        error.add_detail('in the way: simple capture %s, submitted %s; Cloudflare accepts one simple capture a '
                         'minute' % (latest.get('id'), latest['submitted']))


def latest_simple(captures):
    """The simple capture submitted last: the one in the way of Cloudflare's one-a-minute rule."""
    simple = [capture for capture in captures if capture.get('type') == 'simple' and capture.get('submitted')]
    return max(simple, key=lambda capture: capture['submitted']) if simple else None


def is_finished(capture):
    return capture.get('status') in DONE_STATUSES


def wait_for_capture(client, capture, timeout):
    """Poll a capture until it is finished or failed, or has reported `unknown` UNKNOWN_POLLS times in a row.

    Returns (capture, elapsed); raises WaitTimeout.
    """
    unknown_streak = [0]

    def settled(current):
        unknown_streak[0] = unknown_streak[0] + 1 if current.get('status') == UNKNOWN_STATUS else 0
        return current.get('status') in TERMINAL_STATUSES or unknown_streak[0] >= UNKNOWN_POLLS

    return wait_paced_by(client, timeout, lambda polling: get_capture(polling, capture['id']), settled, first=capture)


def still_waiting_message(capture_id, timeout):
    """The message for a WaitTimeout: which capture, what it last was, how long was waited."""
    return 'Packet capture %s is still %s after waiting %d s (wait_timeout)' % (
        capture_id, timeout.last.get('status'), timeout.elapsed)


def unknown_status_message(capture):
    return ('Cloudflare reports packet capture %s as unknown, which is neither finished nor in progress; look at it with '
            'cloudflare.pcap.capture_info or in the dashboard' % capture.get('id'))


def failure_message(capture):
    return 'Packet capture %s failed: %s' % (
        capture.get('id'), capture.get('error_message') or 'Cloudflare gave no error_message')
