# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type and the checks of a successful answer's result."""

from __future__ import annotations

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError, expect_record, expect_records


def test_the_message_says_what_failed_in_a_fixed_order():
    error = CloudflareAPIError('List packet captures', 'deadline spent', status=429, reason='Too Many Requests',
                               errors=[{'code': 10429, 'message': 'Rate limited'}, {'code': None, 'message': ''}],
                               retry_after=300, retry_at='2026-12-05T10:00:00Z', locked_out=True)
    assert error.message == ("List packet captures failed: Cloudflare is refusing this credential's calls (rate limit) "
                             "until 2026-12-05T10:00:00Z, HTTP 429 Too Many Requests, Cloudflare error 10429: Rate "
                             "limited, Cloudflare error: no message, deadline spent, retry after 300 s")


def test_a_bare_failure_says_only_what_failed():
    assert CloudflareAPIError('Stop packet capture', None).message == 'Stop packet capture failed'


def test_details_are_added_after_what_is_known():
    error = CloudflareAPIError('Get packet capture', None, status=503, reason='Service Unavailable')
    error.add_detail('first')
    error.add_detail('second')
    assert error.message == 'Get packet capture failed: HTTP 503 Service Unavailable, first; second'


def test_the_result_carries_only_what_is_known():
    assert CloudflareAPIError('x', 'no answer').as_result() == {}
    error = CloudflareAPIError('x', None, status=400, errors=[{'code': 1001, 'message': 'bad'}, {'code': None, 'message': 'm'}],
                               retry_after=5, retry_at='2026-12-05T10:00:05Z')
    assert error.as_result() == {'status_code': 400, 'errors': [{'code': 1001, 'message': 'bad'}, {'code': None, 'message': 'm'}],
                                 'error_codes': [1001], 'retry_after': 5, 'retry_at': '2026-12-05T10:00:05Z'}


@pytest.mark.parametrize('result', [None, [], {'status': 'pending'}, {'id': ''}, 'x'])
def test_a_success_without_a_record_is_an_unknown_outcome(result):
    with pytest.raises(CloudflareAPIError) as caught:
        expect_record(result, 'Create packet capture', 'a capture')
    assert caught.value.outcome_unknown
    assert caught.value.message == 'Create packet capture failed: Cloudflare answered success without a capture'


def test_a_record_is_returned_as_it_is():
    record = {'id': 'a' * 32, 'status': 'pending'}
    assert expect_record(record, 'Create packet capture', 'a capture') is record


def test_records_null_is_an_empty_list_and_non_objects_are_left_out():
    assert expect_records(None, 'List buckets', 'buckets') == []
    assert expect_records([{'id': 1}, 'x', None, {'id': 2}], 'List buckets', 'buckets') == [{'id': 1}, {'id': 2}]


def test_records_that_are_not_a_list_are_an_error():
    with pytest.raises(CloudflareAPIError) as caught:
        expect_records({'id': 1}, 'List buckets', 'buckets')
    assert caught.value.message == 'List buckets failed: Cloudflare answered success without a list of buckets'
    assert not caught.value.outcome_unknown
