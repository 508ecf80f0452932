# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property tests of the validation layer, over everything the argument spec can hand it.

The code under test already validates every body against the schema it embeds, so checking that schema again
would prove nothing. Every body it accepts is checked instead against what it does not share:
- the simulator's own request rules (tests/simulator/cfpcap_rules.py), written apart from the module with the
  vendored contract (docs/openapi/pcaps.openapi.json), as the API server that will receive the body;
- bounds and field sets stated here, from Cloudflare's documentation, not taken from the code's constants;
- the user's values themselves: nothing that was set is dropped or changed (but addresses, sent in normal form).
"""

from __future__ import annotations

import calendar
import datetime
import importlib.util
import ipaddress
import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.body import build_capture_request
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..'))
NOW = datetime.datetime(2026, 11, 27, 12, 0, 0, tzinfo=datetime.timezone.utc)

# Cloudflare's rules as its documentation states them (collect-pcaps.mdx, the API reference of
# POST /accounts/{account_id}/pcaps); docs/openapi/SOURCE.md lists the sources.
FILTER_FIELDS = {'source_address', 'destination_address', 'source_port', 'destination_port', 'protocol'}
BODY_FIELDS = {
    'simple': {'type', 'system', 'time_limit', 'filter_v1', 'packet_limit', 'offset_time'},
    'full': {'type', 'system', 'time_limit', 'filter_v1', 'packet_limit', 'byte_limit', 'colo_name', 'destination_conf'},
}
REQUIRED = {'simple': {'type', 'system', 'time_limit', 'packet_limit'},
            'full': {'type', 'system', 'time_limit', 'colo_name', 'destination_conf'}}
BOUNDS = {
    'simple': {'time_limit': (1, 300), 'packet_limit': (1, 10000)},
    'full': {'time_limit': (1, 86400), 'packet_limit': (1, 10000), 'byte_limit': (1, 1000000000)},
}
FILTER_BOUNDS = {'source_port': (0, 65535), 'destination_port': (0, 65535), 'protocol': (0, 255)}


def load_simulator_module(name):
    """A module of tests/simulator, which imports its siblings by their plain names."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, 'tests', 'simulator', name + '.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


load_simulator_module('cfpcap_spec')
SIMULATOR_RULES = load_simulator_module('cfpcap_rules')
CONTRACT = sys.modules['cfpcap_spec'].OpenApiContract.from_file(os.path.join(ROOT, 'docs', 'openapi', 'pcaps.openapi.json'))

# After the argument spec, int options are int or None and str options are str or None, but for the options it
# requires: time_limit always, packet_limit for a simple capture, colo_name and destination_conf for a full one
# (required_if). The strategies lean
# towards values near the documented bounds, so that most examples are accepted and checked, but any value can come.
any_int = st.integers(min_value=-2 ** 40, max_value=2 ** 40)
any_text = st.text(max_size=40)


def mostly(strategy, other, odds=7):
    """`strategy` `odds` times out of odds + 1, else `other` (st.one_of does not weigh its branches)."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda usual: strategy if usual else other)


def near(low, high):
    return mostly(st.integers(min_value=low, max_value=high) | st.sampled_from([low, high]), st.sampled_from([low - 1, high + 1]) | any_int, odds=6)


def maybe(strategy):
    return mostly(strategy, st.none(), odds=5)


def rarely(strategy):
    return mostly(st.none(), strategy)


odd_addresses = st.sampled_from(['2001:DB8:0:0::1', '::ffff:192.0.2.1', 'fe80::1%eth0', '10.0.0.0/8', 'example.com', ' 203.0.113.9'])
addresses = mostly(st.ip_addresses().map(str), odd_addresses | any_text)
timestamps = mostly(st.datetimes(min_value=datetime.datetime(2026, 11, 26, 11), max_value=datetime.datetime(2026, 11, 27, 13)).flatmap(
    lambda moment: st.sampled_from([
        moment.strftime('%Y-%m-%dT%H:%M:%SZ'), moment.strftime('%Y-%m-%dt%H:%M:%Sz'), moment.strftime('%Y-%m-%dT%H:%M:%S.250+00:00'),
        moment.strftime('%Y-%m-%dT%H:%M:%S-02:30'), moment.strftime('%Y-%m-%d %H:%M:%SZ'), moment.strftime('%Y-%m-%dT%H:%M:%S'),
    ])), any_text)
filters = maybe(st.fixed_dictionaries({
    'source_address': maybe(addresses), 'destination_address': maybe(addresses),
    'source_port': maybe(near(0, 65535)), 'destination_port': maybe(near(0, 65535)), 'protocol': maybe(near(0, 255)),
}))
colo_names = mostly(st.sampled_from(['ord02', 'sfo06', 'fra01']), st.sampled_from(['', ' ']) | any_text)
buckets = mostly(st.sampled_from(['s3://pcaps-bucket?region=us-east-1', 'r2://pcaps', 'gs://pcaps']), st.just(' ') | any_text)
simple_params = st.fixed_dictionaries({
    'type': st.just('simple'), 'system': st.just('magic-transit'),
    'time_limit': near(1, 300), 'packet_limit': near(1, 10000), 'byte_limit': rarely(any_int),
    'colo_name': rarely(colo_names), 'destination_conf': rarely(buckets), 'filter_v1': filters, 'offset_time': maybe(timestamps),
})
full_params = st.fixed_dictionaries({
    'type': st.just('full'), 'system': st.just('magic-transit'),
    'time_limit': near(1, 86400), 'packet_limit': maybe(near(1, 10000)), 'byte_limit': maybe(near(1, 10 ** 9)),
    'colo_name': colo_names, 'destination_conf': buckets, 'filter_v1': filters, 'offset_time': rarely(timestamps),
})
params = simple_params | full_params


def simulator_only_rule(message, body):
    """A refusal by one of the simulator's own rules, which no source gives as Cloudflare's (tests/simulator/README.md):
    it builds packets from filter_v1, so it refuses addresses of two IP versions. Such a filter matches no packet."""
    addresses = [body.get('filter_v1', {}).get(field) for field in ('source_address', 'destination_address')]
    return message.startswith('filter_v1.destination_address: must be the same IP version') and None not in addresses \
        and ipaddress.ip_address(addresses[0]).version != ipaddress.ip_address(addresses[1]).version


def epoch(moment):
    return calendar.timegm(moment.utctimetuple())


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
    capture_type = body['type']

    # The API server's view: the simulator's rules accept the body (RequestRejected, an HTTP 400, fails the test).
    try:
        SIMULATOR_RULES.check_create_body(CONTRACT, body, epoch(NOW))
    except SIMULATOR_RULES.RequestRejected as rejected:
        if not simulator_only_rule(rejected.message, body):
            raise AssertionError('the module accepts %r but the API would answer 400: %s' % (given_params, rejected.message))

    # Cloudflare's documented fields and bounds, stated above.
    assert REQUIRED[capture_type] <= set(body) <= BODY_FIELDS[capture_type], body
    for field, (low, high) in BOUNDS[capture_type].items():
        assert field not in body or low <= body[field] <= high, (field, body)
    for field, (low, high) in FILTER_BOUNDS.items():
        assert field not in body.get('filter_v1', {}) or low <= body['filter_v1'][field] <= high, (field, body)

    # Nothing the user set is dropped or changed; addresses are the same address.
    for field in BODY_FIELDS[capture_type] - {'filter_v1'}:
        assert body.get(field) == given_params.get(field), field
    for field in FILTER_FIELDS:
        given_value = (given_params['filter_v1'] or {}).get(field)
        sent = body.get('filter_v1', {}).get(field)
        if field.endswith('_address') and given_value is not None:
            assert ipaddress.ip_address(sent) == ipaddress.ip_address(given_value), field
        else:
            assert sent == given_value, field
