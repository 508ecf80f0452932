# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The PCAP domain: request bodies from module parameters, the rules Cloudflare's schema cannot express,
the API operations, and masking of bucket credentials. Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import ipaddress
import re

from ansible_collections.cloudflare.pcap.plugins.module_utils._client import MASK, CloudflareAPIError, expect_record, expect_records
from ansible_collections.cloudflare.pcap.plugins.module_utils._schema import CAPTURE_REQUEST_SCHEMA
from ansible_collections.cloudflare.pcap.plugins.module_utils._waiter import Waiter

# Bounds from Cloudflare's contract (docs/openapi/pcaps.openapi.json), per capture type.
SIMPLE_TIME_LIMIT = (1, 300)
FULL_TIME_LIMIT = (1, 86400)
PACKET_LIMIT = (1, 10000)
BYTE_LIMIT = (1, 1000000000)
PORT = (0, 65535)
PROTOCOL = (0, 255)
OFFSET_WINDOW = datetime.timedelta(hours=24)

FILTER_FIELDS = ('source_address', 'destination_address', 'source_port', 'destination_port', 'protocol')
# Fields each type accepts besides type/system/time_limit/filter_v1.
TYPE_ONLY_FIELDS = {
    'simple': ('packet_limit', 'offset_time'),
    'full': ('packet_limit', 'byte_limit', 'colo_name', 'destination_conf'),
}
ALL_BODY_FIELDS = ('type', 'system', 'time_limit', 'packet_limit', 'byte_limit', 'colo_name', 'destination_conf',
                   'filter_v1', 'offset_time')

# Capture statuses: the API's enum, grouped by what a caller does next.
STATUSES = ('unknown', 'pending', 'running', 'conversion_pending', 'conversion_running', 'success', 'complete', 'failed')
ACTIVE_STATUSES = frozenset(('pending', 'running'))
DONE_STATUSES = frozenset(('success', 'complete'))
FAILED_STATUSES = frozenset(('failed',))
TERMINAL_STATUSES = DONE_STATUSES | FAILED_STATUSES

_RFC3339 = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$')


class PcapValidationError(ValueError):
    """A parameter breaks a rule; the message starts with the option's name."""

    def __init__(self, option, rule):
        self.option = option
        super(PcapValidationError, self).__init__('%s: %s' % (option, rule))


def build_capture_request(params, now=None):
    """The request body for POST /accounts/{account_id}/pcaps, from module parameters.

    Only options the user set are sent. Raises PcapValidationError naming the option for any broken rule.
    """
    capture_type = params['type']
    _require(params, 'time_limit', 'is required')
    allowed = TYPE_ONLY_FIELDS[capture_type]
    for field in ALL_BODY_FIELDS:
        if field in ('type', 'system', 'time_limit', 'filter_v1') or field in allowed:
            continue
        if params.get(field) is not None:
            raise PcapValidationError(field, 'only applies to %s captures, not to type=%s' % (
                'full' if capture_type == 'simple' else 'simple', capture_type))

    if capture_type == 'simple':
        _require(params, 'packet_limit', 'is required for a simple capture')
        _check_range(params, 'time_limit', SIMPLE_TIME_LIMIT, 'for a simple capture')
    else:
        for field in ('colo_name', 'destination_conf'):
            _require(params, field, 'is required for a full capture')
            if not params[field].strip():
                raise PcapValidationError(field, 'must not be empty')
        _check_range(params, 'time_limit', FULL_TIME_LIMIT, 'for a full capture')
        _check_range(params, 'byte_limit', BYTE_LIMIT)
    _check_range(params, 'packet_limit', PACKET_LIMIT)
    if params.get('offset_time') is not None:
        check_offset_time(params['offset_time'], now)

    body = dict((field, params[field]) for field in ALL_BODY_FIELDS if params.get(field) is not None)
    if params.get('filter_v1') is not None:
        body['filter_v1'] = build_filter(params['filter_v1'])
    validate_schema(body)
    return body


def build_filter(filter_params):
    result = {}
    for field in FILTER_FIELDS:
        value = filter_params.get(field)
        if value is None:
            continue
        option = 'filter_v1.' + field
        if field.endswith('_address'):
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise PcapValidationError(option, '%r is not an IPv4 or IPv6 address' % (value,))
        else:
            low, high = PORT if field.endswith('_port') else PROTOCOL
            if not low <= value <= high:
                raise PcapValidationError(option, 'must be between %d and %d, got %d' % (low, high, value))
        result[field] = value
    return result


def check_offset_time(value, now=None):
    """offset_time is an RFC 3339 timestamp within the last 24 hours, not in the future."""
    match = _RFC3339.match(value)
    if not match:
        raise PcapValidationError('offset_time', '%r is not an RFC 3339 timestamp such as 2026-01-31T08:00:00Z' % (value,))
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    try:
        moment = datetime.datetime(year, month, day, hour, minute, second, tzinfo=_UTC)
    except ValueError as exc:
        raise PcapValidationError('offset_time', '%r is not a valid date and time (%s)' % (value, exc))
    if match.group(9):
        sign = 1 if match.group(9) == '+' else -1
        moment -= sign * datetime.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
    now = now or datetime.datetime.now(_UTC)
    if moment > now:
        raise PcapValidationError('offset_time', '%s is in the future' % value)
    if now - moment > OFFSET_WINDOW:
        raise PcapValidationError('offset_time', '%s is more than 24 hours ago; Cloudflare keeps 24 hours' % value)
    return moment


def validate_schema(body, schema=None):
    """The body must also match Cloudflare's own request schema (defence against rules drifting apart).

    jsonschema is imported here, not at the top: most modules never validate a body, and the import is costly.
    PcapModule(requires_jsonschema=True) has already checked that it is installed.
    """
    import jsonschema  # pylint: disable=import-outside-toplevel

    validator = jsonschema.Draft4Validator(schema or CAPTURE_REQUEST_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None and error.context:
        # "not valid under any of the given schemas" helps nobody: say what is wrong in the closest branch.
        error = jsonschema.exceptions.best_match(error.context)
    if error is not None:
        location = '.'.join(str(part) for part in error.absolute_path) or 'request body'
        raise PcapValidationError(location, "does not match Cloudflare's request schema: %s" % error.message)


def mask_destination_conf(uri):
    """Keep the bucket's scheme and name, hide the rest: R2 and S3 URIs carry access keys in the query."""
    if not isinstance(uri, str):
        return uri
    match = re.match(r'^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)(.*)$', uri)
    if not match:
        return MASK
    scheme, authority, rest = match.groups()
    bucket = authority.rsplit('@', 1)[-1]
    hidden = '@' in authority or any(marker in rest for marker in ('?', '#'))
    path = rest.split('?', 1)[0].split('#', 1)[0]
    return scheme + bucket + path + ('?' + MASK if hidden else '')


def masked(record):
    """A copy of a request body or capture with its destination_conf masked."""
    if not isinstance(record, dict) or 'destination_conf' not in record:
        return record
    copy = dict(record)
    copy['destination_conf'] = mask_destination_conf(copy['destination_conf'])
    return copy


def _require(params, field, rule):
    if params.get(field) is None:
        raise PcapValidationError(field, rule)


def _check_range(params, field, bounds, context=''):
    value = params.get(field)
    if value is None:
        return
    low, high = bounds
    if not low <= value <= high:
        raise PcapValidationError(field, 'must be between %d and %d%s, got %s' % (
            low, high, ' ' + context if context else '', value))


_UTC = datetime.timezone.utc


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
