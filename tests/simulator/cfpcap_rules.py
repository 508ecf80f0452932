# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Request checks: the contract's schemas first, then the rules the schemas cannot express."""

import calendar
import ipaddress
import re

import jsonschema

from cfpcap_spec import describe_error, first_error

CODE_BAD_REQUEST = 1001

CREATE_PATH = '/accounts/{account_id}/pcaps'
SIMPLE_SCHEMA = 'magic-visibility-pcaps_pcaps_request_simple'
FULL_SCHEMA = 'magic-visibility-pcaps_pcaps_request_full'

# Per-type rules the request's anyOf cannot enforce (see docs/openapi/SOURCE.md). Written as JSON Schema so that
# the messages read like the contract's own.
_SIMPLE_RULES = {
    'type': 'object',
    'properties': {
        'time_limit': {'minimum': 1, 'maximum': 300},
        'packet_limit': {'minimum': 1, 'maximum': 10000},
    },
}
_FULL_RULES = {
    'type': 'object',
    'properties': {
        'time_limit': {'minimum': 1, 'maximum': 86400},
        'byte_limit': {'minimum': 1, 'maximum': 1000000000},
        'packet_limit': {'minimum': 1, 'maximum': 10000},
    },
}
# The simulator's own filter checks: it has to build real packets from the filter.
_FILTER_RULES = {
    'type': 'object',
    'properties': {
        'source_port': {'minimum': 0, 'maximum': 65535, 'multipleOf': 1},
        'destination_port': {'minimum': 0, 'maximum': 65535, 'multipleOf': 1},
        'protocol': {'minimum': 0, 'maximum': 255, 'multipleOf': 1},
    },
}
_SIMPLE_ONLY = ('offset_time',)
_FULL_ONLY = ('byte_limit', 'colo_name', 'destination_conf')
_FULL_REQUIRED = ('colo_name', 'destination_conf')

_RFC3339 = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$')
OFFSET_WINDOW_SECONDS = 24 * 3600
# Clients stamp offset_time from their own clock; a second of slack keeps "now" from counting as the future.
FUTURE_SKEW_SECONDS = 1.0


class RequestRejected(Exception):
    """A request body the API answers with HTTP 400."""

    def __init__(self, message, code=CODE_BAD_REQUEST):
        super().__init__(message)
        self.message = message
        self.code = code


def parse_rfc3339(text):
    """Seconds since the epoch for an RFC 3339 timestamp, or None when the text is not one."""
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(index)) for index in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    fraction = float(match.group(7)) if match.group(7) else 0.0
    offset = 0
    if match.group(9):
        offset = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        offset = offset if match.group(9) == '+' else -offset
    return calendar.timegm((year, month, day, hour, minute, min(second, 59), 0, 0, 0)) + fraction - offset


def _check_schema(schema, instance, prefix=''):
    error = first_error(jsonschema.Draft7Validator(schema), instance)
    if error is not None:
        message = describe_error(error)
        raise RequestRejected('%s.%s' % (prefix, message) if prefix else message)


def check_body(contract, path_template, method, body):
    """Validate a parsed JSON body against the operation's request schema (create has check_create_body)."""
    validator = contract.request_validator(path_template, method)
    if validator is None:
        return
    error = first_error(validator, body)
    if error is not None:
        raise RequestRejected(describe_error(error))


def check_create_body(contract, body, now):
    """Validate a create-capture body: the contract's anyOf, then the per-type rules.

    ``now`` is the simulated time (seconds since the epoch) that bounds offset_time.
    """
    if not isinstance(body, dict):
        raise RequestRejected('%r is not of type \'object\'' % (body,))
    if not contract.request_validator(CREATE_PATH, 'POST').is_valid(body):
        # The anyOf error alone would not name the field: report the branch the body's type asks for.
        branch = FULL_SCHEMA if body.get('type') == 'full' else SIMPLE_SCHEMA
        error = first_error(contract.component_validator(branch), body)
        if error is None:
            error = first_error(contract.request_validator(CREATE_PATH, 'POST'), body)
        raise RequestRejected(describe_error(error))

    capture_type = body['type']
    if capture_type == 'simple':
        for name in _FULL_ONLY:
            if name in body:
                raise RequestRejected('%s: is not allowed for simple packet captures' % name)
        _check_schema(_SIMPLE_RULES, body)
    else:
        for name in _SIMPLE_ONLY:
            if name in body:
                raise RequestRejected('%s: is not allowed for full packet captures' % name)
        for name in _FULL_REQUIRED:
            if name not in body:
                raise RequestRejected('%s: is required for full packet captures' % name)
        _check_schema(_FULL_RULES, body)

    if 'filter_v1' in body:
        check_filter(body['filter_v1'])
    if 'offset_time' in body:
        check_offset_time(body['offset_time'], now)


def check_filter(filter_v1):
    _check_schema(_FILTER_RULES, filter_v1, prefix='filter_v1')
    versions = {}
    for name in ('source_address', 'destination_address'):
        if name in filter_v1:
            try:
                versions[name] = ipaddress.ip_address(filter_v1[name]).version
            except ValueError:
                raise RequestRejected('filter_v1.%s: %r is not a valid IP address' % (name, filter_v1[name])) from None
    if len(set(versions.values())) > 1:
        raise RequestRejected('filter_v1.destination_address: must be the same IP version as filter_v1.source_address')


def check_offset_time(offset_time, now):
    moment = parse_rfc3339(offset_time)
    if moment is None:
        raise RequestRejected('offset_time: %r is not an RFC 3339 timestamp' % (offset_time,))
    if moment > now + FUTURE_SKEW_SECONDS:
        raise RequestRejected('offset_time: %r is in the future' % (offset_time,))
    if moment < now - OFFSET_WINDOW_SECONDS:
        raise RequestRejected('offset_time: %r is more than 24 hours in the past' % (offset_time,))
