# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The request body of a new capture, from module parameters: per-type rules, bounds, the filter, offset_time.
Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.cloudflare.pcap.plugins.module_utils._normalise import RFC3339, normal_address, parse_timestamp
from ansible_collections.cloudflare.pcap.plugins.module_utils._schema import CAPTURE_REQUEST_SCHEMA
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError, validate_schema

# Bounds from Cloudflare's contract (docs/openapi/pcaps.openapi.json), per capture type.
SIMPLE_TIME_LIMIT = (1, 300)
FULL_TIME_LIMIT = (1, 86400)
PACKET_LIMIT = (1, 10000)
BYTE_LIMIT = (1, 1000000000)
PORT = (0, 65535)
PROTOCOL = (0, 255)
OFFSET_WINDOW = datetime.timedelta(hours=24)
_UTC = datetime.timezone.utc

FILTER_FIELDS = ('source_address', 'destination_address', 'source_port', 'destination_port', 'protocol')
# Fields each type accepts besides type/system/time_limit/filter_v1.
TYPE_ONLY_FIELDS = {
    'simple': ('packet_limit', 'offset_time'),
    'full': ('packet_limit', 'byte_limit', 'colo_name', 'destination_conf'),
}
ALL_BODY_FIELDS = ('type', 'system', 'time_limit', 'packet_limit', 'byte_limit', 'colo_name', 'destination_conf',
                   'filter_v1', 'offset_time')


def build_capture_request(params, now=None):
    """The request body for POST /accounts/{account_id}/pcaps, from module parameters.

    Only options the user set are sent. Raises PcapValidationError naming the option for any broken rule. Which
    options each type requires is declared in capture_request's argument spec (required_if), and checked before.
    """
    capture_type = params['type']
    allowed = TYPE_ONLY_FIELDS[capture_type]
    for field in ALL_BODY_FIELDS:
        if field in ('type', 'system', 'time_limit', 'filter_v1') or field in allowed:
            continue
        if params.get(field) is not None:
            raise PcapValidationError(field, 'only applies to %s captures, not to type=%s' % (
                'full' if capture_type == 'simple' else 'simple', capture_type))

    if capture_type == 'simple':
        _check_range(params, 'time_limit', SIMPLE_TIME_LIMIT, 'for a simple capture')
    else:
        for field in ('colo_name', 'destination_conf'):
            if params.get(field) is not None and not params[field].strip():
                raise PcapValidationError(field, 'must not be empty')
        _check_range(params, 'time_limit', FULL_TIME_LIMIT, 'for a full capture')
        _check_range(params, 'byte_limit', BYTE_LIMIT)
    _check_range(params, 'packet_limit', PACKET_LIMIT)
    if params.get('offset_time') is not None:
        check_offset_time(params['offset_time'], now)

    body = dict((field, params[field]) for field in ALL_BODY_FIELDS if params.get(field) is not None)
    if params.get('filter_v1') is not None:
        body['filter_v1'] = build_filter(params['filter_v1'])
    validate_schema(body, CAPTURE_REQUEST_SCHEMA)
    return body


def build_filter(filter_params):
    """filter_v1 with only the fields that were set, addresses in their normal form."""
    result = {}
    for field in FILTER_FIELDS:
        value = filter_params.get(field)
        if value is None:
            continue
        option = 'filter_v1.' + field
        if field.endswith('_address'):
            value = normal_address(value, option)
        else:
            low, high = PORT if field.endswith('_port') else PROTOCOL
            if not low <= value <= high:
                raise PcapValidationError(option, 'must be between %d and %d, got %d' % (low, high, value))
        result[field] = value
    return result


def check_offset_time(value, now=None):
    """offset_time is an RFC 3339 timestamp within the last 24 hours, not in the future."""
    if not RFC3339.match(value):
        raise PcapValidationError('offset_time', '%r is not an RFC 3339 timestamp such as 2026-01-31T08:00:00Z' % (value,))
    moment = parse_timestamp(value)
    if moment is None:
        raise PcapValidationError('offset_time', '%r is not a valid date and time' % (value,))
    now = now or datetime.datetime.now(_UTC)
    if moment > now:
        raise PcapValidationError('offset_time', '%s is in the future' % value)
    if now - moment > OFFSET_WINDOW:
        raise PcapValidationError('offset_time', '%s is more than 24 hours ago; Cloudflare keeps 24 hours' % value)
    return moment


def _check_range(params, field, bounds, context=''):
    value = params.get(field)
    if value is None:
        return
    low, high = bounds
    if not low <= value <= high:
        raise PcapValidationError(field, 'must be between %d and %d%s, got %s' % (
            low, high, ' ' + context if context else '', value))
