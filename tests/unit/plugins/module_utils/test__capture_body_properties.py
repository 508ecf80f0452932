# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property tests of the validation layer, over everything the argument spec can hand it."""

from __future__ import annotations

import datetime

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudflare.pcap.plugins.module_utils._capture_body import FILTER_FIELDS, TYPE_ONLY_FIELDS, build_capture_request
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError
from ansible_collections.cloudflare.pcap.plugins.module_utils._schema import CAPTURE_REQUEST_SCHEMA

NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)

# After the argument spec, int options are int or None and str options are str or None.
ints = st.none() | st.integers(min_value=-2 ** 40, max_value=2 ** 40) | st.sampled_from([0, 1, 300, 301, 10000, 86400])
texts = st.none() | st.text(max_size=40) | st.sampled_from(['ord02', 's3://b?region=x', '203.0.113.9', '2001:db8::1'])
timestamps = st.none() | st.text(max_size=30) | st.datetimes(
    min_value=datetime.datetime(2026, 11, 25), max_value=datetime.datetime(2026, 11, 28),
).map(lambda moment: moment.strftime('%Y-%m-%dT%H:%M:%SZ'))
filters = st.none() | st.fixed_dictionaries({
    'source_address': texts, 'destination_address': texts,
    'source_port': ints, 'destination_port': ints, 'protocol': ints,
})
params = st.fixed_dictionaries({
    'type': st.sampled_from(['simple', 'full']),
    'system': st.just('magic-transit'),
    'time_limit': ints,
    'packet_limit': ints,
    'byte_limit': ints,
    'colo_name': texts,
    'destination_conf': texts,
    'filter_v1': filters,
    'offset_time': timestamps,
})


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params)
def test_any_input_is_accepted_or_refused_cleanly(given_params):
    try:
        body = build_capture_request(given_params, now=NOW)
    except PcapValidationError as exc:
        # The message names an option of the module (or a filter_v1 suboption) before the rule.
        option = str(exc).split(':', 1)[0]
        assert option in given_params or option in ['filter_v1.' + field for field in FILTER_FIELDS], str(exc)
        return
    # Accepted bodies match Cloudflare's schema and hold only fields of their type.
    jsonschema.Draft4Validator(CAPTURE_REQUEST_SCHEMA).validate(body)
    allowed = {'type', 'system', 'time_limit', 'filter_v1'} | set(TYPE_ONLY_FIELDS[body['type']])
    assert set(body) <= allowed
    assert all(value is not None for value in body.values())
    if body['type'] == 'simple':
        assert 1 <= body['time_limit'] <= 300 and 'packet_limit' in body
    else:
        assert 1 <= body['time_limit'] <= 86400 and body['colo_name'].strip() and body['destination_conf'].strip()
