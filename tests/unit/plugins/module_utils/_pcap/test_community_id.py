# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Community ID v1: the spec's published vectors (corelight/community-id-spec, baseline/baseline_deflt.json and
the flows of the Zeek plugin's test) and Wireshark's tshark (its communityid post-dissector) on capture files
built by pcap_samples are the witnesses. A missing tshark fails the tests: .ci/run installs it."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.community_id import community_id
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import summarise_file
from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples

# (protocol, source, destination, source port or ICMP type, destination port or ICMP code, ID): baseline_deflt.json.
SPEC_VECTORS = [
    (58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY='),
    (58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 135, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY='),
    (58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, '1:zavyT/cezQr1fmImYCwYnMXbgck='),
    (58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 136, 135, '1:zavyT/cezQr1fmImYCwYnMXbgck='),
    (58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '1:2ObVBgIn28oZvibYZhZMBgh7WdQ='),
    (58, '3ffe:501:410:0:2c0:dfff:fe47:33e', '3ffe:507:0:1:200:86ff:fe05:80da', 1, 4, '1:hLZd0XGWojozrvxqE0dWB1iM6R0='),
    (58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 128, 129, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg='),
    (58, '3ffe:501:0:1001::2', '3ffe:507:0:1:200:86ff:fe05:80da', 129, 128, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg='),
    (58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0='),
    (58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, '1:pkvHqCL88/tg1k4cPigmZXUtL00='),
    (1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='),
    (1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk='),
    (1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM='),
    (6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='),
    (6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4='),
    (132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='),
    (132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs='),
    (6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='),
    (6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg='),
    (17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='),
    (17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ='),
    (46, '10.1.12.1', '10.1.12.2', None, None, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='),
    (46, '10.1.12.2', '10.1.12.1', None, None, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw='),
]

# The flows of the Zeek plugin's test (zeek-community-id, testing/tests/communityid), seeds 0 and 1.
ZEEK_V6 = ('fe80:1:203:405:607:809:a0b:c0d', 'fe80:1011:1213:1415:1617:1819:1a1b:1c1d')
SEEDED_VECTORS = [
    (0, 6, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:wCb3OG7yAFWelaUydu0D+125CLM='),
    (0, 17, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg='),
    (0, 1, '1.2.3.4', '5.6.7.8', 8, 0, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0='),
    (0, 58, ZEEK_V6[0], ZEEK_V6[1], 128, 0, '1:0bf7hyMJUwt3fMED7z8LIfRpBeo='),
    (1, 6, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk='),
    (1, 17, '1.2.3.4', '5.6.7.8', 1122, 3344, '1:OShq+iKDAMVouh/4bMxB9Sz4amw='),
    (1, 1, '1.2.3.4', '5.6.7.8', 8, 0, '1:9pr4ZGTICiuZoIh90RRYE2RyXpU='),
    (1, 58, ZEEK_V6[0], ZEEK_V6[1], 128, 0, '1:IO27GQzPuCtNnwFvjWALMHu5tJE='),
]


@pytest.mark.parametrize('protocol, source, destination, source_port, destination_port, expected', SPEC_VECTORS)
def test_the_spec_vectors(protocol, source, destination, source_port, destination_port, expected):
    assert community_id(protocol, source, destination, source_port, destination_port) == expected


@pytest.mark.parametrize('seed, protocol, source, destination, source_port, destination_port, expected', SEEDED_VECTORS)
def test_the_seeded_vectors(seed, protocol, source, destination, source_port, destination_port, expected):
    assert community_id(protocol, source, destination, source_port, destination_port, seed=seed) == expected
    # The other direction: the same ID (ICMP's reverse is a reply type, not a swapped code, so not for ICMP here).
    reverse = dict(source=destination, destination=source, source_port=destination_port, destination_port=source_port)
    assert protocol in (1, 58) or community_id(protocol, seed=seed, **reverse) == expected


@pytest.mark.parametrize('arguments, message', [
    ((6, '192.0.2.1', '2001:db8::1', 1, 2), 'different IP versions'),
    ((6, '192.0.2.1', '192.0.2.2', None, 2), 'needs both ports'),
    ((1, '192.0.2.1', '192.0.2.2', 8, None), 'needs both ports'),
    ((17, '192.0.2.1', '192.0.2.2', 1, 65536), 'port must be'),
    ((256, '192.0.2.1', '192.0.2.2'), 'protocol must be'),
    ((6, b'\x01\x02\x03', '192.0.2.2', 1, 2), '4 or 16 bytes'),
])
def test_impossible_input_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        community_id(*arguments)


def test_a_bad_seed_is_refused():
    with pytest.raises(ValueError, match='seed'):
        community_id(6, '192.0.2.1', '192.0.2.2', 1, 2, seed=70000)


def test_packed_addresses_and_text_give_the_same_id():
    assert community_id(17, bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]), 5, 53) == community_id(17, '192.0.2.1', '192.0.2.2', 5, 53)


# ---- tshark, the independent witness ---------------------------------------------------------------------------

def tshark_ids(path):
    """The Community ID tshark gives each packet of the file, in order ('' for one it gives none)."""
    found = shutil.which('tshark')
    assert found, 'tshark is missing: the Community ID tests need it as a witness (apt-get install tshark)'
    answer = subprocess.run([found, '-n', '-r', path, '--enable-protocol', 'communityid', '-o', 'communityid.do_base64:TRUE',
                             '-T', 'fields', '-e', 'communityid'],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.splitlines()


def sctp(source_port, destination_port):
    return struct.pack('!HHII', source_port, destination_port, 0x1234, 0)


def dccp(source_port, destination_port):
    return struct.pack('!HHBBHI', source_port, destination_port, 4, 0, 0, 0) + b'\0' * 4


def icmp_message(icmp_type, code, version):
    """An ICMP message of its full length: Wireshark computes no ID for a timestamp or mask message cut short."""
    body = ({13: 12, 14: 12, 17: 4, 18: 4} if version == 4 else {135: 16, 136: 16}).get(icmp_type, 0)
    if version == 6 and icmp_type < 128:
        # An ICMPv6 error quotes the packet that caused it; Wireshark computes no ID without it.
        return struct.pack('!BBHI', icmp_type, code, 0, 1280) + samples.ipv6('2001:db8::1', '2001:db8::4', 17, samples.udp(1, 2))
    return struct.pack('!BBHI', icmp_type, code, 0, 0) + b'\0' * body


# (protocol, source, destination, source port or ICMP type, destination port or ICMP code): both directions, the
# ICMP request/reply pairs and one-way messages sent from the higher address (never reordered).
PACKETS = [
    (6, '192.0.2.1', '198.51.100.7', 40000, 443), (6, '198.51.100.7', '192.0.2.1', 443, 40000),
    (6, '192.0.2.1', '192.0.2.1', 9000, 80), (6, '192.0.2.1', '192.0.2.1', 80, 9000),
    (17, '203.0.113.10', '192.0.2.5', 53, 55555), (17, '2001:db8::2', '2001:db8::1', 53, 1024),
    (132, '192.0.2.3', '192.0.2.2', 2905, 2905), (132, '2001:db8::1', '2001:db8:0:1::53', 36412, 36412),
    (1, '192.0.2.1', '203.0.113.10', 8, 0), (1, '203.0.113.10', '192.0.2.1', 0, 0),
    (1, '203.0.113.10', '192.0.2.1', 3, 1), (1, '203.0.113.10', '192.0.2.1', 11, 0),
    (1, '198.51.100.7', '192.0.2.4', 13, 0), (1, '198.51.100.7', '192.0.2.4', 17, 0),
    (58, '2001:db8::4', '2001:db8::1', 128, 0), (58, '2001:db8::1', '2001:db8::4', 129, 0),
    (58, '2001:db8::4', '2001:db8::1', 135, 0), (58, '2001:db8::4', '2001:db8::1', 1, 4),
    (58, '2001:db8::4', '2001:db8::1', 2, 0), (58, '2001:db8::4', '2001:db8::1', 144, 0),
    # Protocols without ports over IPv4 only: tshark 4.0 gives IPv6 packets of such protocols no ID (the spec's
    # formula for them is the same for both versions; test_packed_addresses... and the RSVP vector cover it).
    (47, '203.0.113.10', '192.0.2.1', None, None), (50, '198.51.100.7', '192.0.2.4', None, None),
    (33, '203.0.113.10', '192.0.2.1', 5000, 6000),
]


def packet_of(protocol, source, destination, source_port, destination_port):
    version = 6 if ':' in source else 4
    if protocol == 6:
        segment = samples.tcp(source_port, destination_port)
    elif protocol == 17:
        segment = samples.udp(source_port, destination_port)
    elif protocol == 132:
        segment = sctp(source_port, destination_port)
    elif protocol == 33:
        segment = dccp(source_port, destination_port)
    elif protocol in (1, 58):
        segment = icmp_message(source_port, destination_port, version)
    else:
        segment = b'\0' * 8
    if version == 4:
        return samples.ethernet(samples.ipv4(source, destination, protocol, segment))
    return samples.ethernet(samples.ipv6(source, destination, protocol, segment), 0x86dd)


def test_each_protocol_equals_tshark(tmp_path):
    path = str(tmp_path / 'protocols.pcap')
    with open(path, 'wb') as handle:
        handle.write(samples.pcap_file([packet_of(*packet) for packet in PACKETS]))
    ours = [community_id(*packet) for packet in PACKETS]
    assert tshark_ids(path) == ours
    # The summary gives every flow the ID of its packets.
    summary = summarise_file(path, top=100)[1]
    by_flow = dict(((flow['source_address'], flow['destination_address'], flow['protocol'], flow.get('source_port')),
                    flow['community_id']) for flow in summary['flows'])
    for packet, expected in zip(PACKETS, ours):
        protocol, source, destination, source_port = packet[:4]
        port = source_port if protocol in (6, 17, 132, 33) else None
        if protocol in (1, 58) and (source, destination, protocol) in ((p[1], p[2], p[0]) for p in PACKETS if p is not packet):
            continue  # several ICMP types in one flow: checked below
        assert by_flow[(source, destination, protocol, port)] == expected, packet


def test_an_icmp_flow_of_several_types_has_the_id_of_the_most_frequent(tmp_path):
    path = str(tmp_path / 'icmp.pcap')
    packets = [(1, '203.0.113.10', '192.0.2.1', 3, 1)] + [(1, '203.0.113.10', '192.0.2.1', 0, 0)] * 2
    with open(path, 'wb') as handle:
        handle.write(samples.pcap_file([packet_of(*packet) for packet in packets]))
    flows = summarise_file(path)[1]['flows']
    assert [flow['community_id'] for flow in flows] == [tshark_ids(path)[1]]
    assert flows[0]['community_id'] == community_id(1, '192.0.2.1', '203.0.113.10', 8, 0)


TSHARK_FLOW_FIELDS = ('ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'ip.proto', 'ipv6.nxt', 'ip.flags.mf', 'ip.frag_offset',
                      'tcp.srcport', 'udp.srcport', 'tcp.dstport', 'udp.dstport', 'icmp.type', 'icmpv6.type', 'communityid')


def tshark_flows(path):
    """(flow key as the summary has it, tshark's ID) of each packet tshark gives an ID, except IPv4 fragments, which
    tshark holds for reassembly and hashes without their ports."""
    answer = subprocess.run(['tshark', '-n', '-r', path, '--enable-protocol', 'communityid', '-T', 'fields']
                            + [part for field in TSHARK_FLOW_FIELDS for part in ('-e', field)],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    assert answer.returncode == 0, answer.stderr
    found = []
    for line in answer.stdout.splitlines():
        row = dict(zip(TSHARK_FLOW_FIELDS, line.split('\t')))
        if not row.get('communityid') or row['ip.flags.mf'] in ('1', 'True') or row['ip.frag_offset'] not in ('', '0'):
            continue
        # The transport layer names the protocol: ipv6.nxt may be that of the first extension header.
        layers = [(6, 'tcp.srcport'), (17, 'udp.srcport'), (1, 'icmp.type'), (58, 'icmpv6.type')]
        protocol = [number for number, field in layers if row[field]] or [int((row['ip.proto'] or row['ipv6.nxt']).split(',')[-1])]
        protocol = protocol[0]
        source_port = row['tcp.srcport'] or row['udp.srcport']
        destination_port = row['tcp.dstport'] or row['udp.dstport']
        key = (row['ip.src'] or row['ipv6.src'], row['ip.dst'] or row['ipv6.dst'], protocol,
               int(source_port) if source_port else None, int(destination_port) if destination_port else None)
        found.append((key, row['communityid']))
    return found


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_files_equal_tshark(tmp_path, seed):
    """Each packet of a random file (VLAN tags, IPv4 options and fragments, IPv6 extension headers, truncation) that
    tshark gives an ID has that ID in the summary's flow. tshark 4.0 gives none to IPv6 packets with extension
    headers; the summary's flows of those are checked by test_each_protocol_equals_tshark's kind."""
    path = str(tmp_path / 'random.pcap')
    with open(path, 'wb') as handle:
        handle.write(samples.random_pcap(seed, 300))
    summary = summarise_file(path, top=1000)[1]
    assert len(summary['flows']) == summary['flow_count']
    ours = dict(((flow['source_address'], flow['destination_address'], flow['protocol'], flow.get('source_port'),
                  flow.get('destination_port')), flow['community_id']) for flow in summary['flows'])
    compared = tshark_flows(path)
    assert len(compared) > 100
    for key, theirs in compared:
        assert ours[key] == theirs, key
    for flow in summary['flows']:
        if flow['community_id'] is None:
            # Only where the ports or the ICMP type are not in the packets: IPv4 or IPv6 fragments after the first.
            assert flow['protocol'] in (6, 17, 1, 58) and 'source_port' not in flow, flow
