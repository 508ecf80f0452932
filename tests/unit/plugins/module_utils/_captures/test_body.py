# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Request bodies and the per-type rules that Cloudflare's anyOf schema does not enforce."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.body import build_capture_request, check_offset_time
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)
BUCKET = 's3://pcaps-bucket?region=us-east-1'


def params(**given):
    """Module parameters as AnsibleModule hands them over: every option present, None when not set."""
    base = dict(type='simple', system='magic-transit', time_limit=None, packet_limit=None, byte_limit=None,
                colo_name=None, destination_conf=None, filter_v1=None, offset_time=None)
    base.update(given)
    return base


def simple(**given):
    return params(**dict(dict(time_limit=60, packet_limit=100), **given))


def full(**given):
    return params(**dict(dict(type='full', time_limit=300, colo_name='ord02', destination_conf=BUCKET), **given))


def rejects(expected_prefix, given):
    with pytest.raises(PcapValidationError) as caught:
        build_capture_request(given, now=NOW)
    assert str(caught.value).startswith(expected_prefix), str(caught.value)
    return str(caught.value)


def test_simple_body_holds_only_what_was_set():
    assert build_capture_request(simple(), now=NOW) == {
        'type': 'simple', 'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100}


def test_filter_keeps_only_given_fields():
    given = simple(filter_v1=dict(source_address=None, destination_address='2001:db8::1', source_port=None,
                                  destination_port=443, protocol=6))
    assert build_capture_request(given, now=NOW)['filter_v1'] == {
        'destination_address': '2001:db8::1', 'destination_port': 443, 'protocol': 6}


def test_full_body():
    body = build_capture_request(full(byte_limit=500000, packet_limit=10000), now=NOW)
    assert body == {'type': 'full', 'system': 'magic-transit', 'time_limit': 300, 'packet_limit': 10000,
                    'byte_limit': 500000, 'colo_name': 'ord02', 'destination_conf': BUCKET}


@pytest.mark.parametrize('time_limit', [1, 300])
def test_simple_time_limit_bounds_accepted(time_limit):
    assert build_capture_request(simple(time_limit=time_limit), now=NOW)['time_limit'] == time_limit


@pytest.mark.parametrize('time_limit', [0, 301, -5])
def test_simple_time_limit_bounds_rejected(time_limit):
    message = rejects('time_limit: ', simple(time_limit=time_limit))
    assert 'between 1 and 300 for a simple capture' in message


@pytest.mark.parametrize('time_limit, accepted', [(1, True), (86400, True), (0, False), (86401, False)])
def test_full_time_limit_bounds(time_limit, accepted):
    if accepted:
        assert build_capture_request(full(time_limit=time_limit), now=NOW)['time_limit'] == time_limit
    else:
        assert 'between 1 and 86400 for a full capture' in rejects('time_limit: ', full(time_limit=time_limit))


@pytest.mark.parametrize('packet_limit, accepted', [(1, True), (10000, True), (0, False), (10001, False)])
def test_packet_limit_bounds(packet_limit, accepted):
    for given in (simple(packet_limit=packet_limit), full(packet_limit=packet_limit)):
        if accepted:
            assert build_capture_request(given, now=NOW)['packet_limit'] == packet_limit
        else:
            rejects('packet_limit: must be between 1 and 10000', given)


@pytest.mark.parametrize('byte_limit, accepted', [(1, True), (1000000000, True), (0, False), (1000000001, False)])
def test_byte_limit_bounds(byte_limit, accepted):
    if accepted:
        assert build_capture_request(full(byte_limit=byte_limit), now=NOW)['byte_limit'] == byte_limit
    else:
        rejects('byte_limit: must be between 1 and 1000000000', full(byte_limit=byte_limit))


@pytest.mark.parametrize('field, value', [('byte_limit', 10), ('colo_name', 'ord02'), ('destination_conf', BUCKET)])
def test_simple_rejects_full_only_fields(field, value):
    message = rejects(field + ': ', simple(**{field: value}))
    assert 'only applies to full captures, not to type=simple' in message


@pytest.mark.parametrize('field', ['colo_name', 'destination_conf'])
def test_full_rejects_blank_colo_and_bucket(field):
    rejects(field + ': must not be empty', full(**{field: '  '}))


def test_full_rejects_offset_time():
    message = rejects('offset_time: ', full(offset_time='2026-11-27T11:00:00Z'))
    assert 'only applies to simple captures' in message


@pytest.mark.parametrize('field, value', [
    ('source_address', '300.1.1.1'), ('destination_address', 'example.com'), ('source_address', '10.0.0.0/8'),
    ('source_port', -1), ('destination_port', 65536), ('protocol', 256), ('protocol', -1),
])
def test_filter_rules(field, value):
    rejects('filter_v1.%s: ' % field, simple(filter_v1={field: value}))


@pytest.mark.parametrize('value', ['2026-11-27T11:00:00Z', '2026-11-27T11:00:00.123456Z', '2026-11-27T13:00:00+02:00',
                                   '2026-11-26T12:00:00Z', '2026-11-27T12:00:00Z', '2026-11-27t11:00:00z'])
def test_offset_time_accepted(value):
    assert build_capture_request(simple(offset_time=value), now=NOW)['offset_time'] == value


@pytest.mark.parametrize('value, rule', [
    ('2026-11-27T12:00:01Z', 'in the future'),
    ('2026-11-27T12:00:00-01:00', 'in the future'),
    ('2026-11-26T11:59:59Z', 'more than 24 hours ago'),
    ('2026-11-27 11:00', 'not an RFC 3339 timestamp'),
    ('yesterday', 'not an RFC 3339 timestamp'),
    ('2026-02-30T10:00:00Z', 'not a valid date and time'),
    ('2026-11-27T11:00:00', 'not an RFC 3339 timestamp'),
    # RFC 3339's grammar (and JSON Schema's date-time) separates date and time with T; a space is only a note.
    ('2026-11-27 11:00:00Z', 'not an RFC 3339 timestamp'),
])
def test_offset_time_rejected(value, rule):
    assert rule in rejects('offset_time: ', simple(offset_time=value))


def test_offset_time_default_clock_is_now():
    recent = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%SZ')
    check_offset_time(recent)


@pytest.mark.parametrize('given, sent', [
    ('2001:0DB8:0000:0000:0000:0000:0000:0010', '2001:db8::10'),
    ('203.0.113.10', '203.0.113.10'),
])
def test_addresses_are_sent_in_normal_form(given, sent):
    body = build_capture_request(params(time_limit=60, packet_limit=10, filter_v1={'destination_address': given}))
    assert body['filter_v1'] == {'destination_address': sent}


@pytest.mark.parametrize('field', ['source_address', 'destination_address'])
def test_scoped_addresses_are_refused(field):
    with pytest.raises(PcapValidationError) as caught:
        build_capture_request(params(time_limit=60, packet_limit=10, filter_v1={field: 'fe80::1%eth0'}))
    assert str(caught.value).startswith('filter_v1.%s: ' % field)
    assert 'zone index' in str(caught.value)
