# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""capture_summary_info: a local capture file summarised without credentials, check mode alike, clear failures."""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from ansible_collections.cloudflare.pcap.plugins.modules import capture_summary_info
from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples
from ansible_collections.cloudflare.pcap.tests.unit.helpers import assert_matches_return_docs, run_module, warning_texts

FRAMES = [samples.ethernet(samples.ipv4('198.51.100.7', '203.0.113.10', 6, samples.tcp(51234, 443, b'x' * 1400)))] * 7 + \
    [samples.ethernet(samples.ipv6('2001:db8::1', '2001:db8::53', 17, samples.udp(5353, 53, b'q' * 30)), 0x86dd)] * 3 + \
    [samples.ethernet(samples.ipv4('192.0.2.1', '203.0.113.10', 1, samples.icmp()))]


def write(tmp_path, data, name='evidence.pcap'):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize('check_mode', [False, True])
def test_summarises_a_file_without_credentials(capsys, tmp_path, check_mode):
    data = samples.pcap_file(FRAMES)
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, data), _ansible_check_mode=check_mode),
                                capsys)
    assert not failed and result['changed'] is False
    assert (result['format'], result['packets'], result['size']) == ('pcap', 11, len(data))
    assert result['checksum'] == hashlib.sha256(data).hexdigest()
    summary = result['summary']
    assert summary['packets'] == 11 and summary['truncated_packets'] == 7 and summary['flow_count'] == 3
    assert summary['flows'][0] == dict(
        source_address='198.51.100.7', destination_address='203.0.113.10', source_port=51234, destination_port=443,
        protocol=6, packets=7, bytes=7 * 1454,
        filter_v1=dict(source_address='198.51.100.7', destination_address='203.0.113.10', source_port=51234,
                       destination_port=443, protocol=6),
        community_id='1:NxpEl93jhPyWorKEDXUl5YRTkLM=')
    assert summary['flows'][2] == dict(source_address='192.0.2.1', destination_address='203.0.113.10', protocol=1,
                                       packets=1, bytes=42, filter_v1=dict(source_address='192.0.2.1',
                                                                           destination_address='203.0.113.10', protocol=1),
                                       community_id='1:8pitjPGxW5ZbHexqm674MRkSs6I=')  # tshark's for this echo request
    assert summary['protocols'] == [dict(protocol=6, packets=7, bytes=7 * 1454), dict(protocol=17, packets=3, bytes=3 * 92),
                                    dict(protocol=1, packets=1, bytes=42)]
    assert summary['destinations'][0] == dict(address='203.0.113.10', packets=8, bytes=7 * 1454 + 42)
    assert summary['first_packet'] == '2025-11-27T08:00:00.000000Z' and summary['duration'] == 0.012345
    assert 'path' not in result and 'mode' not in result
    assert_matches_return_docs(capture_summary_info, result, 'success')


def test_summary_top_and_pcapng(capsys, tmp_path):
    data = samples.pcapng_file(random.Random(1), [('>', [(samples.SLL2, 9, None, 160), (samples.RAW, None, None, 0)])],
                               packets_per_section=60)
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, data), summary_top=2), capsys)
    assert not failed and result['format'] == 'pcapng' and result['packets'] == 60
    assert len(result['summary']['flows']) == 2 and len(result['summary']['sources']) == 2
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, data), summary_top=0), capsys)
    assert not failed and result['summary']['flows'] == [] and result['summary']['protocols']


def test_top_still_works_with_a_deprecation_until_0_2_0(capsys, tmp_path):
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, samples.pcap_file(FRAMES)), top=1),
                                capsys)
    assert not failed and len(result['summary']['flows']) == 1
    # ansible-core 2.19+ returns DeprecationSummary structures, earlier releases plain dicts.
    deprecations = [(item['event']['msg'] if 'event' in item else item['msg'], item['version'])
                    for item in result.get('deprecations', [])]
    assert deprecations == [("Alias 'top' is deprecated. See the module docs for more information", '0.2.0')]


def test_connection_options_are_not_taken(capsys, tmp_path):
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, samples.pcap_file(FRAMES)),
                                                                api_token='x' * 40), capsys)
    assert failed and 'api_token' in result['msg'] and 'Unsupported parameters' in result['msg']


def test_other_link_types_are_counted_with_a_warning(capsys, tmp_path):
    data = samples.pcap_file([b'\x00' * 30] * 4, link_type=105)
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, data)), capsys)
    assert not failed and result['summary']['undecoded_packets'] == 4
    assert warning_texts(result) == ['4 packets have link type 105, which the summary does not decode: they are '
                                     'counted, in no flow']


@pytest.mark.parametrize('setup, message', [
    (lambda tmp_path: str(tmp_path / 'missing.pcap'), r'^path: .*missing\.pcap does not exist$'),
    (str, r'^path: .* is a directory, not a capture file$'),
    (lambda tmp_path: write(tmp_path, b'<html>502</html>'),
     r'^path: .*evidence\.pcap: it is not a pcap or pcapng file \(the file starts with 0x6d74683c, which is neither'),
    (lambda tmp_path: write(tmp_path, samples.pcap_file(FRAMES)[:-10]),
     r'it is not a pcap or pcapng file \(packet 11 is truncated: its record header says 42 captured bytes from byte '
     r'offset \d+, but the file ends 32 bytes later\)$'),
])
def test_failures_say_what_and_where(capsys, tmp_path, setup, message):
    failed, result = run_module(capture_summary_info.main, dict(path=setup(tmp_path)), capsys)
    assert failed
    assert re.search(message, result['msg']), result['msg']


def test_a_negative_summary_top_is_refused(capsys, tmp_path):
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, samples.pcap_file(FRAMES)),
                                                                summary_top=-1), capsys)
    assert failed and result['msg'] == 'summary_top: must be 0 or more, got -1'


# Several files as one capture

def test_a_list_and_patterns_summarise_several_files_as_one_capture(capsys, tmp_path):
    (tmp_path / 'srv1').mkdir()
    (tmp_path / 'srv2').mkdir()
    first = write(tmp_path, samples.pcap_file(FRAMES[:5]), 'srv1/pcap_a.pcap')
    second = write(tmp_path, samples.pcap_file(FRAMES[5:], start_ns=samples.EPOCH_NS + 10 ** 9), 'srv2/pcap_a.pcap')
    third = write(tmp_path, samples.pcap_file(FRAMES[:2], start_ns=samples.EPOCH_NS - 10 ** 9), 'pcap_a_3.pcap')
    whole = run_module(capture_summary_info.main, dict(path=write(tmp_path, samples.pcap_file(FRAMES))), capsys)[1]

    failed, result = run_module(capture_summary_info.main, dict(path=[str(tmp_path / 'srv*' / 'pcap_a.pcap'), third, first]),
                                capsys)

    assert not failed, result
    assert [item['path'] for item in result['files']] == [first, second, third]
    assert [item['packets'] for item in result['files']] == [5, 6, 2] and result['packets'] == 13
    assert result['files'][1]['checksum'] == hashlib.sha256(open(second, 'rb').read()).hexdigest()
    summary = result['summary']
    assert summary['packets'] == 13 and summary['flow_count'] == whole['summary']['flow_count']
    assert summary['first_packet'] == '2025-11-27T07:59:59.000000Z' and summary['last_packet'].startswith('2025-11-27T08:00:01.')
    assert summary['flows'][0]['packets'] == 7 + 2
    assert 'format' not in result and 'checksum' not in result
    assert_matches_return_docs(capture_summary_info, result, 'success, for several files or a pattern')


def test_patterns_that_match_nothing_at_all_are_named(capsys, tmp_path):
    patterns = [str(tmp_path / 'srv*.pcap'), str(tmp_path / 'srv*' / '*.pcap')]
    failed, result = run_module(capture_summary_info.main, dict(path=patterns), capsys)
    assert failed and result['msg'] == 'path: %s, %s matches no file' % tuple(patterns)

    one = write(tmp_path, samples.pcap_file(FRAMES), 'srv1.pcap')
    failed, result = run_module(capture_summary_info.main, dict(path=patterns), capsys)
    assert not failed and [item['path'] for item in result['files']] == [one]


def test_a_damaged_file_among_several_is_named(capsys, tmp_path):
    good = write(tmp_path, samples.pcap_file(FRAMES), 'a.pcap')
    bad = write(tmp_path, b'notes about the incident', 'b.pcap')
    failed, result = run_module(capture_summary_info.main, dict(path=[good, bad]), capsys)
    assert failed and result['msg'].startswith('path: %s: it is not a pcap or pcapng file' % bad)


def test_a_capture_without_packets_says_so_and_why(capsys, tmp_path):
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, samples.pcap_file([]))), capsys)
    assert not failed and result['packets'] == 0 and result['summary']['flows'] == []
    reasons = result['summary']['empty_reasons']
    assert len(reasons) == 3 and 'dropped' in reasons[0] and 'sampled' in reasons[1] and 'filter' in reasons[2]
    assert any(text.startswith('The capture holds no packets. Possible reasons: packets were dropped')
               for text in warning_texts(result))
    assert_matches_return_docs(capture_summary_info, result, 'success')


def test_a_single_path_with_a_comma_is_one_file(capsys, tmp_path):
    failed, result = run_module(capture_summary_info.main, dict(path=write(tmp_path, samples.pcap_file(FRAMES), 'a,b.pcap')),
                                capsys)
    assert not failed and result['packets'] == 11 and result['format'] == 'pcap'
