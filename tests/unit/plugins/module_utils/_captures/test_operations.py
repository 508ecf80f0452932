# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Creating a capture once, judged on what Cloudflare echoes: reuse, adoption after a lost answer, races, statuses."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures.operations import (
    LIST_CAP,
    UNKNOWN_POLLS,
    create_capture,
    is_finished,
    request_capture,
    same_parameters,
    wait_for_capture,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import CloudflareAPIError, CloudflareClient
from ansible_collections.cloudflare.pcap.tests.unit.helpers import ACCOUNT_ID, CAPTURE_ID, TOKEN, Reply, envelope

OTHER_ID = 'ffffffffffffffffffffffffffffffff'
THIRD_ID = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee'

SIMPLE_BODY = {'type': 'simple', 'system': 'magic-transit', 'time_limit': 60, 'packet_limit': 100,
               'filter_v1': {'destination_address': '2001:db8::10', 'destination_port': 443, 'protocol': 6}}
FULL_BODY = {'type': 'full', 'system': 'magic-transit', 'time_limit': 300, 'colo_name': 'ord02', 'byte_limit': 1000,
             'destination_conf': 'r2://pcaps?account-id=0123&access-key-id=AKIAEXAMPLE&secret-access-key=TOPSECRETVALUE'}


def echo(body, capture_id=CAPTURE_ID, status='pending', **changes):
    """What pcaps_response_simple / pcaps_response_full hold for a body: no packet_limit."""
    capture = dict((field, value) for field, value in body.items() if field != 'packet_limit')
    capture.update(id=capture_id, status=status, submitted='2026-11-27T08:00:00Z')
    capture.update(changes)
    return capture


def listed(*captures):
    return Reply(200, envelope(list(captures)))


@pytest.fixture
def client(stub_api):
    return CloudflareClient(ACCOUNT_ID, base_url=stub_api.base_url, api_token=TOKEN, retries=0)


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(_waiter, 'FIRST_INTERVAL', 0.01)
    monkeypatch.setattr(_waiter, 'MAX_INTERVAL', 0.01)


def methods(stub_api):
    return [request['method'] for request in stub_api.requests]


# What is compared, and in which form.

def test_an_echo_without_packet_limit_is_the_same_request():
    assert same_parameters(echo(SIMPLE_BODY), SIMPLE_BODY)


def test_an_echo_in_another_form_is_the_same_request():
    cloudflare_form = echo(SIMPLE_BODY, time_limit=60.0, filter_v1={
        'destination_address': '2001:0DB8:0000:0000:0000:0000:0000:0010', 'destination_port': 443.0, 'protocol': 6.0,
        'source_port': None})
    assert same_parameters(cloudflare_form, SIMPLE_BODY)


def test_offset_time_is_compared_in_utc():
    body = dict(SIMPLE_BODY, offset_time='2026-11-27T09:30:00+02:00')
    assert same_parameters(echo(body, offset_time='2026-11-27T07:30:00.000+00:00'), body)
    assert not same_parameters(echo(body, offset_time='2026-11-27T09:30:00Z'), body)


def test_a_full_capture_is_compared_on_its_bucket_without_keys_and_colo_in_any_case():
    listed_form = echo(FULL_BODY, destination_conf='r2://pcaps?account-id=0123', colo_name='ORD02')
    assert same_parameters(listed_form, FULL_BODY)
    assert not same_parameters(echo(FULL_BODY, destination_conf='r2://other?account-id=0123'), FULL_BODY)
    assert not same_parameters(echo(FULL_BODY, byte_limit=2000), FULL_BODY)


@pytest.mark.parametrize('changes', [
    {'time_limit': 61},
    {'type': 'full'},
    {'filter_v1': {'destination_address': '2001:db8::11', 'destination_port': 443, 'protocol': 6}},
    {'filter_v1': {'destination_address': '2001:db8::10', 'destination_port': 443}},
    {'filter_v1': None},
])
def test_what_is_echoed_tells_captures_apart(changes):
    assert not same_parameters(echo(SIMPLE_BODY, **changes), SIMPLE_BODY)


def test_packet_limit_cannot_tell_captures_apart():
    # Cloudflare does not echo packet_limit: the module notes say so, and force=true gets a new capture.
    assert same_parameters(echo(SIMPLE_BODY), dict(SIMPLE_BODY, packet_limit=5000))


def test_no_filter_matches_only_no_filter():
    body = dict(SIMPLE_BODY)
    del body['filter_v1']
    assert same_parameters(echo(body, filter_v1={}), body)
    assert same_parameters(echo(body), body)
    assert not same_parameters(echo(SIMPLE_BODY), body)


# Reuse.

def test_an_identical_pending_capture_is_reused_without_a_post(stub_api, client):
    stub_api.add(listed(echo(SIMPLE_BODY, OTHER_ID, status='success'), echo(SIMPLE_BODY)))
    capture, outcome, warnings = request_capture(client, SIMPLE_BODY)
    assert (capture['id'], outcome, warnings) == (CAPTURE_ID, 'reused', [])
    assert methods(stub_api) == ['GET']


def test_two_identical_captures_in_progress_are_named(stub_api, client):
    stub_api.add(listed(echo(SIMPLE_BODY), echo(SIMPLE_BODY, OTHER_ID, status='running')))
    capture, outcome, warnings = request_capture(client, SIMPLE_BODY)
    assert outcome == 'reused' and capture['id'] == CAPTURE_ID
    assert len(warnings) == 1 and CAPTURE_ID in warnings[0] and OTHER_ID in warnings[0] and 'run_once' in warnings[0]


def test_force_creates_although_an_identical_one_runs(stub_api, client):
    stub_api.add(listed(echo(SIMPLE_BODY)), Reply(200, envelope(echo(SIMPLE_BODY, OTHER_ID))))
    capture, outcome, _warnings = request_capture(client, SIMPLE_BODY, force=True)
    assert (capture['id'], outcome) == (OTHER_ID, 'created')
    assert methods(stub_api) == ['GET', 'POST']


# A lost answer.

def test_a_lost_answer_adopts_the_one_new_matching_capture(stub_api, client):
    old = echo(SIMPLE_BODY, OTHER_ID, status='success')
    stub_api.add(listed(old), Reply(kind='reset'), listed(echo(SIMPLE_BODY), old))
    capture, outcome, warnings = request_capture(client, SIMPLE_BODY)
    assert (capture['id'], outcome) == (CAPTURE_ID, 'adopted')
    assert 'lost' in warnings[0] and CAPTURE_ID in warnings[0]
    assert methods(stub_api) == ['GET', 'POST', 'GET']


def test_a_lost_answer_with_two_candidates_names_both_and_guesses_nothing(stub_api, client):
    stub_api.add(listed(), Reply(502, envelope(None, False, [])), listed(echo(SIMPLE_BODY), echo(SIMPLE_BODY, OTHER_ID)))
    with pytest.raises(CloudflareAPIError) as caught:
        request_capture(client, SIMPLE_BODY)
    assert '2 new captures' in caught.value.message
    assert CAPTURE_ID in caught.value.message and OTHER_ID in caught.value.message
    assert caught.value.outcome_unknown


def test_a_lost_answer_and_no_new_capture_proves_none_was_created(stub_api, client):
    other = echo(dict(SIMPLE_BODY, time_limit=30), OTHER_ID)
    stub_api.add(listed(), Reply(kind='reset'), listed(other))
    with pytest.raises(CloudflareAPIError) as caught:
        request_capture(client, SIMPLE_BODY)
    assert 'none was created' in caught.value.message
    assert not caught.value.outcome_unknown


def test_a_full_list_proves_nothing(stub_api, client):
    crowd = [echo(dict(SIMPLE_BODY, time_limit=30), '%032x' % number, status='success') for number in range(LIST_CAP)]
    stub_api.add(listed(*crowd), Reply(kind='reset'), listed(*crowd))
    with pytest.raises(CloudflareAPIError) as caught:
        request_capture(client, SIMPLE_BODY)
    assert 'none was created' not in caught.value.message
    assert 'only %d captures' % LIST_CAP in caught.value.message and 'may still exist' in caught.value.message
    assert caught.value.outcome_unknown


# Races and refusals.

def test_a_refusal_because_a_parallel_task_created_the_same_capture_uses_it(stub_api, client):
    refused = Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one simple capture a minute'}]),
                    headers={'Retry-After': '30'})
    stub_api.add(listed(), refused, listed(echo(SIMPLE_BODY)))
    capture, outcome, warnings = request_capture(client, SIMPLE_BODY)
    assert (capture['id'], outcome) == (CAPTURE_ID, 'reused')
    assert 'run_once' in warnings[0]


def test_a_refusal_by_another_capture_names_it(stub_api, client):
    other = echo(dict(SIMPLE_BODY, time_limit=30), OTHER_ID, status='running')
    refused = Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one simple capture a minute'}]),
                    headers={'Retry-After': '30'})
    stub_api.add(listed(other), refused, listed(other))
    with pytest.raises(CloudflareAPIError) as caught:
        request_capture(client, SIMPLE_BODY)
    assert caught.value.status == 429 and 'in the way: simple capture %s' % OTHER_ID in caught.value.message


# What comes back.

@pytest.mark.parametrize('bad_id', ['abc', '../../zones', 'g' * 32])
def test_an_id_that_is_not_32_hex_characters_is_an_api_error(stub_api, client, bad_id):
    stub_api.add(Reply(200, envelope(echo(SIMPLE_BODY, bad_id))))
    with pytest.raises(CloudflareAPIError) as caught:
        create_capture(client, SIMPLE_BODY)
    assert 'not 32 hexadecimal characters' in caught.value.message


@pytest.mark.parametrize('status, finished', [('success', True), ('complete', True), ('failed', False),
                                              ('unknown', False), ('conversion_running', False)])
def test_success_and_complete_both_mean_finished(status, finished):
    assert is_finished({'status': status, 'type': 'simple'}) is finished
    assert is_finished({'status': status, 'type': 'full'}) is finished


def test_a_wait_gives_up_on_unknown_after_some_polls(stub_api, client):
    unknown = Reply(200, envelope(echo(SIMPLE_BODY, status='unknown')))
    stub_api.add(*[unknown] * (UNKNOWN_POLLS + 5))
    capture, _elapsed = wait_for_capture(client, echo(SIMPLE_BODY), timeout=30)
    assert capture['status'] == 'unknown'
    assert len(stub_api.requests) == UNKNOWN_POLLS


def test_a_passing_unknown_does_not_end_the_wait(stub_api, client):
    unknown = Reply(200, envelope(echo(SIMPLE_BODY, status='unknown')))
    stub_api.add(unknown, unknown, Reply(200, envelope(echo(SIMPLE_BODY, status='running'))), unknown,
                 Reply(200, envelope(echo(SIMPLE_BODY, status='complete'))))
    capture, _elapsed = wait_for_capture(client, echo(SIMPLE_BODY), timeout=30)
    assert capture['status'] == 'complete'


def test_a_rerun_within_the_minute_uses_the_identical_capture_that_finished(stub_api, client):
    finished = echo(SIMPLE_BODY, status='success')
    refused = Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one simple capture a minute'}]),
                    headers={'Retry-After': '40'})
    stub_api.add(listed(finished), refused, listed(finished))
    capture, outcome, warnings = request_capture(client, SIMPLE_BODY)
    assert (capture['id'], outcome) == (CAPTURE_ID, 'reused')
    assert 'one simple capture a minute' in warnings[0] and CAPTURE_ID in warnings[0]


@pytest.mark.parametrize('in_the_way', [
    echo(dict(SIMPLE_BODY, time_limit=30), status='success'),  # another request
    echo(SIMPLE_BODY, status='failed'),  # the same request, but it failed: the user wants a new one
])
def test_a_refusal_by_a_capture_that_is_not_the_one_asked_for_fails(stub_api, client, in_the_way):
    refused = Reply(429, envelope(None, False, [{'code': 1008, 'message': 'one simple capture a minute'}]),
                    headers={'Retry-After': '40'})
    stub_api.add(listed(in_the_way), refused, listed(in_the_way))
    with pytest.raises(CloudflareAPIError) as caught:
        request_capture(client, SIMPLE_BODY)
    assert caught.value.status == 429 and 'in the way: simple capture' in caught.value.message
