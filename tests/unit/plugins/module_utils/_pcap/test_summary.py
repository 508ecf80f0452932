# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The summary of a capture file: its figures equal dpkt's reading of the same files, for every format, link type and
header the summary reads; damaged files fail with NotAPcap naming the offset, whatever the bytes (hypothesis)."""

from __future__ import annotations

import collections
import ipaddress
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.community_id import community_id
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import summarise, summarise_file
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import NotAPcap, read_records
from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples

dpkt = pytest.importorskip('dpkt')  # a test dependency (tests/unit/requirements.txt): the independent witness
import dpkt.pcapng  # noqa: E402  pylint: disable=wrong-import-position
import dpkt.sll  # noqa: E402  pylint: disable=wrong-import-position
import dpkt.sll2  # noqa: E402  pylint: disable=wrong-import-position

EVERYTHING = 10 ** 9


# ---- the witness: dpkt reads the records and decodes the packets ---------------------------------------------

def dpkt_records(data):
    """(link type, timestamp in seconds or None, captured, original, bytes) as dpkt reads them. dpkt's own readers
    know only the first interface of a pcapng file and do not say the original length, so this loop walks the
    blocks and hands each to dpkt's block and header classes; only the Simple Packet Block, which dpkt does not
    know, is read here (its one field, the original length)."""
    if data[:4] != b'\x0a\x0d\x0d\x0a':
        header = dpkt.pcap.FileHdr(data[:24])
        little = header.magic not in (dpkt.pcap.TCPDUMP_MAGIC, dpkt.pcap.TCPDUMP_MAGIC_NANO)
        header = dpkt.pcap.LEFileHdr(data[:24]) if little else header
        record_class = dpkt.pcap.LEPktHdr if little else dpkt.pcap.PktHdr
        nano = header.magic in (dpkt.pcap.TCPDUMP_MAGIC_NANO, dpkt.pcap.PMUDPCT_MAGIC_NANO)
        position = 24
        while position < len(data):
            record = record_class(data[position:position + 16])
            position += 16
            yield (header.linktype, record.tv_sec + record.tv_usec / (1e9 if nano else 1e6), record.caplen, record.len,
                   data[position:position + record.caplen])
            position += record.caplen
        return
    position = 0
    little = True
    interfaces = []
    while position < len(data):
        if data[position:position + 4] == b'\x0a\x0d\x0d\x0a':
            little = data[position + 8:position + 12] == b'\x4d\x3c\x2b\x1a'
            interfaces = []
        length = struct.unpack('<I' if little else '>I', data[position + 4:position + 8])[0]
        raw = data[position:position + length]
        block_type = struct.unpack('<I' if little else '>I', raw[:4])[0]
        if block_type == dpkt.pcapng.PCAPNG_BT_IDB:
            idb = (dpkt.pcapng.InterfaceDescriptionBlockLE if little else dpkt.pcapng.InterfaceDescriptionBlock)(raw)
            divisor, offset = 1e6, 0
            for opt in idb.opts:  # as dpkt.pcapng.Reader reads them
                if opt.code == dpkt.pcapng.PCAPNG_OPT_IF_TSRESOL:
                    value = opt.data[0]
                    divisor = float((2 if value & 0x80 else 10) ** (value & 0x7f))
                elif opt.code == dpkt.pcapng.PCAPNG_OPT_IF_TSOFFSET:
                    offset = struct.unpack('<q' if little else '>q', opt.data)[0]
            interfaces.append((idb.linktype, idb.snaplen, divisor, offset))
        elif block_type in (dpkt.pcapng.PCAPNG_BT_EPB, dpkt.pcapng.PCAPNG_BT_PB):
            if block_type == dpkt.pcapng.PCAPNG_BT_EPB:
                packet = (dpkt.pcapng.EnhancedPacketBlockLE if little else dpkt.pcapng.EnhancedPacketBlock)(raw)
            else:
                packet = (dpkt.pcapng.PacketBlockLE if little else dpkt.pcapng.PacketBlock)(raw)
            link_type, _snaplen, divisor, offset = interfaces[packet.iface_id]
            yield (link_type, offset + ((packet.ts_high << 32) | packet.ts_low) / divisor, packet.caplen, packet.pkt_len,
                   packet.pkt_data)
        elif block_type == dpkt.pcapng.PCAPNG_BT_SPB:
            original = struct.unpack('<I' if little else '>I', raw[8:12])[0]
            link_type, snaplen = interfaces[0][:2]
            captured = min(original, snaplen or original, length - 16)
            yield link_type, None, captured, original, raw[12:12 + captured]
        position += length


def dpkt_flow(link_type, data):
    """(source, destination, protocol, source port, destination port) as dpkt decodes the packet, or None."""
    try:
        if link_type == samples.ETHERNET:
            packet = dpkt.ethernet.Ethernet(data).data
        elif link_type == samples.SLL:
            packet = dpkt.sll.SLL(data).data
        elif link_type == samples.SLL2:
            packet = dpkt.sll2.SLL2(data).data
        elif data and data[0] >> 4 == 4 and link_type in (samples.RAW, samples.IPV4_LINK):
            packet = dpkt.ip.IP(data)
        elif data and data[0] >> 4 == 6 and link_type in (samples.RAW, samples.IPV6_LINK):
            packet = dpkt.ip6.IP6(data)
        else:
            return None
    except (dpkt.UnpackError, dpkt.NeedData):
        return None
    if not isinstance(packet, (dpkt.ip.IP, dpkt.ip6.IP6)):
        return None
    ports = (None, None)
    if isinstance(packet.data, (dpkt.tcp.TCP, dpkt.udp.UDP)):
        ports = (packet.data.sport, packet.data.dport)
    return (ipaddress.ip_address(packet.src), ipaddress.ip_address(packet.dst), packet.p) + ports


def dpkt_summary(data):
    totals = collections.Counter()
    flows = collections.defaultdict(lambda: [0, 0])
    times = []
    for link_type, moment, captured, original, packet in dpkt_records(data):
        totals.update(packets=1, captured_bytes=captured, wire_bytes=original, truncated_packets=int(captured < original))
        if moment is not None:
            times.append(moment)
        key = dpkt_flow(link_type, packet)
        if key is None:
            totals['undecoded_packets'] += 1
        else:
            flows[key][0] += 1
            flows[key][1] += original
    return totals, times, {key: tuple(value) for key, value in flows.items()}


def by_field(flows, field):
    table = collections.defaultdict(lambda: [0, 0])
    index = {'source': 0, 'destination': 1, 'protocol': 2}[field]
    for key, (packets, size) in flows.items():
        table[key[index]][0] += packets
        table[key[index]][1] += size
    return {key: tuple(value) for key, value in table.items()}


def seconds(rfc3339):
    import datetime  # pylint: disable=import-outside-toplevel
    moment = datetime.datetime.strptime(rfc3339, '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def assert_equals_dpkt(tmp_path, data):
    path = tmp_path / 'sample.pcap'
    path.write_bytes(data)
    _format, summary = summarise_file(str(path), top=EVERYTHING)
    totals, times, flows = dpkt_summary(data)
    for field in ('packets', 'captured_bytes', 'wire_bytes', 'truncated_packets', 'undecoded_packets'):
        assert summary[field] == totals[field], field
    if times:
        assert abs(seconds(summary['first_packet']) - min(times)) < 2e-6
        assert abs(seconds(summary['last_packet']) - max(times)) < 2e-6
        assert abs(summary['duration'] - (max(times) - min(times))) < 2e-6
    else:
        assert summary['first_packet'] is None and summary['duration'] is None
    ours = {(ipaddress.ip_address(flow['source_address']), ipaddress.ip_address(flow['destination_address']),
             flow['protocol'], flow.get('source_port'), flow.get('destination_port')): (flow['packets'], flow['bytes'])
            for flow in summary['flows']}
    assert ours == flows
    assert summary['flow_count'] == len(flows)
    assert {entry['protocol']: (entry['packets'], entry['bytes']) for entry in summary['protocols']} == \
        by_field(flows, 'protocol')
    for field, listed in (('source', summary['sources']), ('destination', summary['destinations'])):
        assert {ipaddress.ip_address(entry['address']): (entry['packets'], entry['bytes']) for entry in listed} == \
            by_field(flows, field)
    counts = [(flow['packets'], flow['bytes']) for flow in summary['flows']]
    assert counts == sorted(counts, reverse=True)
    return summary


# ---- the summary equals dpkt's reading -------------------------------------------------------------------------

@pytest.mark.parametrize('order', ['<', '>'])
@pytest.mark.parametrize('nanoseconds', [False, True])
@pytest.mark.parametrize('link_type', [samples.ETHERNET, samples.RAW, samples.IPV4_LINK, samples.IPV6_LINK,
                                       samples.SLL, samples.SLL2])
def test_pcap_files_equal_dpkt(tmp_path, order, nanoseconds, link_type):
    data = samples.random_pcap(link_type * 7 + len(order) + nanoseconds, 300, order, nanoseconds, link_type)
    summary = assert_equals_dpkt(tmp_path, data)
    assert summary['packets'] == 300 and summary['flows']


@pytest.mark.parametrize('snaplen', [160, 65535])
def test_snaplens_equal_dpkt(tmp_path, snaplen):
    summary = assert_equals_dpkt(tmp_path, samples.random_pcap(snaplen, 300, snaplen=snaplen))
    assert (summary['truncated_packets'] > 0) == (snaplen < 65535)


def test_a_short_snaplen_keeps_the_flows_whose_headers_fit(tmp_path):
    # dpkt gives up on a TCP header cut short; the summary needs only the ports. Here every header up to the ports
    # fits in 58 bytes, so a 60-byte snaplen must give the flows dpkt reads from the whole frames.
    rng = random.Random(60)
    frames = []
    for _index in range(200):
        if rng.random() < 0.5:
            packet, ethertype = samples.ipv4(rng.choice(samples.V4), rng.choice(samples.V4), 6, samples.tcp(
                rng.randint(1, 3), 443, b'x' * 100)), 0x0800
        else:
            packet, ethertype = samples.ipv6(rng.choice(samples.V6), rng.choice(samples.V6), 17, samples.udp(
                53, rng.randint(1, 3), b'x' * 100)), 0x86dd
        frames.append(samples.ethernet(packet, ethertype))
    whole = assert_equals_dpkt(tmp_path, samples.pcap_file(frames, snaplen=65535))
    (tmp_path / 'short.pcap').write_bytes(samples.pcap_file(frames, snaplen=60))
    short = summarise_file(str(tmp_path / 'short.pcap'), top=EVERYTHING)[1]
    assert short['truncated_packets'] == 200 and short['captured_bytes'] == 200 * 60
    for field in ('flows', 'protocols', 'sources', 'destinations', 'wire_bytes', 'first_packet', 'last_packet'):
        assert short[field] == whole[field], field


@pytest.mark.parametrize('order', ['<', '>'])
def test_pcapng_with_several_sections_and_interfaces_equals_dpkt(tmp_path, order):
    other = '>' if order == '<' else '<'
    data = samples.pcapng_file(random.Random(len(order)), [
        (order, [(samples.ETHERNET, None, None, 160), (samples.RAW, 9, None, 160), (samples.SLL2, 0x80 | 20, None, 0),
                 (samples.IPV6_LINK, 3, 3600, 96)]),
        (other, [(samples.SLL, 6, -60, 160), (samples.IPV4_LINK, 0x80 | 10, None, 65535)]),
    ], packets_per_section=150, old_packets=True)
    summary = assert_equals_dpkt(tmp_path, data)
    assert summary['packets'] == 300


def test_simple_packet_blocks_have_no_time(tmp_path):
    data = samples.pcapng_file(random.Random(5), [('<', [(samples.ETHERNET, None, None, 128)])], packets_per_section=200,
                               simple_packets=True)
    summary = assert_equals_dpkt(tmp_path, data)
    assert summary['packets'] == 200 and summary['first_packet'] is not None
    only_simple = samples.section() + samples.interface(samples.ETHERNET, 0) + samples.simple_packet(
        samples.ethernet(samples.ipv4('192.0.2.1', '192.0.2.2', 17, samples.udp(1, 2))), 0)
    summary = assert_equals_dpkt(tmp_path, only_simple)
    assert summary['packets'] == 1 and summary['first_packet'] is None and summary['duration'] is None


def test_a_simulator_capture_equals_dpkt(tmp_path):
    rng = random.Random(9)
    frames = [samples.ethernet(samples.ipv4('203.0.113.10', '192.0.2.%d' % rng.randint(1, 3), 6,
                                            samples.tcp(rng.randint(1024, 1030), 443, b'x' * 1400)))
              for _index in range(500)]
    summary = assert_equals_dpkt(tmp_path, samples.pcap_file(frames))
    assert summary['truncated_packets'] == 500 and summary['captured_bytes'] == 500 * 160


# ---- what each header gives ----------------------------------------------------------------------------------

def only_flow(link_type, frame, snaplen=160):
    summary = summarise([(link_type, samples.EPOCH_NS, min(len(frame), snaplen), len(frame), frame[:snaplen])])
    assert summary['packets'] == 1
    return summary['flows'][0] if summary['flows'] else None


def test_a_flow_is_a_filter_v1():
    flow = only_flow(samples.ETHERNET, samples.ethernet(samples.ipv4('192.0.2.1', '203.0.113.10', 6, samples.tcp(
        40000, 443, b'x' * 1000)), tags=((0x88a8, 1), (0x8100, 2))))
    assert flow == dict(source_address='192.0.2.1', destination_address='203.0.113.10', source_port=40000,
                        destination_port=443, protocol=6, packets=1, bytes=14 + 8 + 20 + 20 + 1000,
                        filter_v1=dict(source_address='192.0.2.1', destination_address='203.0.113.10', source_port=40000,
                                       destination_port=443, protocol=6),
                        community_id=community_id(6, '192.0.2.1', '203.0.113.10', 40000, 443))


def test_protocols_without_ports_have_none():
    flow = only_flow(samples.RAW, samples.ipv6('2001:db8::1', '2001:db8::2', 58, samples.icmpv6()))
    assert 'source_port' not in flow and 'destination_port' not in flow['filter_v1'] and flow['protocol'] == 58


def test_later_fragments_carry_no_ports():
    first = only_flow(samples.RAW, samples.ipv4('192.0.2.1', '192.0.2.2', 17, samples.udp(5, 53, b'x' * 100), more_fragments=True))
    later = only_flow(samples.RAW, samples.ipv4('192.0.2.1', '192.0.2.2', 17, b'x' * 100, fragment_offset=100))
    assert first['source_port'] == 5 and 'source_port' not in later and later['protocol'] == 17
    later6 = only_flow(samples.RAW, samples.ipv6('2001:db8::1', '2001:db8::2', 6, b'x' * 100,
                                                 [(44, samples.fragment(8, False))]))
    assert later6['protocol'] == 6 and 'source_port' not in later6


def test_ipv6_extension_headers_are_skipped():
    packet = samples.ipv6('2001:db8::1', '2001:db8::2', 17, samples.udp(7, 8), [
        (0, samples.hop_by_hop(2)), (43, samples.routing()), (51, samples.authentication()), (60, samples.hop_by_hop())])
    assert only_flow(samples.IPV6_LINK, packet)['filter_v1'] == dict(
        source_address='2001:db8::1', destination_address='2001:db8::2', source_port=7, destination_port=8, protocol=17)
    # Cut off inside the extension headers: the header reached is the protocol, and there are no ports.
    cut = only_flow(samples.IPV6_LINK, packet, snaplen=40 + 8 + 24 + 4)
    assert cut['protocol'] == 51 and 'source_port' not in cut


def test_ports_are_read_from_what_was_captured():
    packet = samples.ipv4('192.0.2.1', '192.0.2.2', 6, samples.tcp(1, 2), options=b'\x01' * 40)
    assert only_flow(samples.RAW, packet, snaplen=64)['source_port'] == 1
    assert 'source_port' not in only_flow(samples.RAW, packet, snaplen=63)
    assert only_flow(samples.RAW, packet, snaplen=19) is None


def test_ethernet_padding_is_not_a_port():
    packet = samples.ipv4('192.0.2.1', '192.0.2.2', 6, b'')  # a 20-byte packet, padded to the 60-byte minimum
    assert 'source_port' not in only_flow(samples.ETHERNET, samples.ethernet(packet) + b'\x01' * 26)


def test_other_link_types_and_non_ip_are_counted_apart():
    summary = summarise([(105, samples.EPOCH_NS, 10, 10, b'\0' * 10), (105, samples.EPOCH_NS, 10, 10, b'\0' * 10),
                         (samples.ETHERNET, samples.EPOCH_NS, 42, 42, samples.ethernet(samples.ARP, 0x0806))])
    assert summary['packets'] == 3 and summary['undecoded_packets'] == 3 and summary['flows'] == []
    assert summary['unsupported_link_types'] == [dict(link_type=105, packets=2)]


def test_top_limits_flows_and_addresses():
    rng = random.Random(3)
    records = []
    for index in range(100):
        frame = samples.ethernet(samples.ipv4('192.0.2.%d' % (index % 7 + 1), '198.51.100.%d' % (index % 5 + 1), 17,
                                              samples.udp(1000 + index % 3, 53)))
        records.append((samples.ETHERNET, samples.EPOCH_NS + rng.randint(0, 10 ** 9), len(frame), len(frame), frame))
    summary = summarise(records, top=2)
    assert len(summary['flows']) == 2 and len(summary['sources']) == 2 and len(summary['destinations']) == 2
    assert summary['flows'][0]['packets'] >= summary['flows'][1]['packets']
    assert summary['sources'][0] == dict(address='192.0.2.1', packets=15, bytes=15 * 42)
    none = summarise(records, top=0)
    assert none['flows'] == [] and none['sources'] == [] and none['flow_count'] == summary['flow_count'] > 2


def test_the_top_is_the_whole_ranking_cut_short_even_among_equal_flows_and_addresses():
    # The summary sorts only what can reach its top; with many flows and addresses of equal packets and bytes the
    # ties must still come out as a sort of all of them puts them.
    rng = random.Random(11)
    records = []
    for _index in range(400):
        frame = samples.ethernet(samples.ipv4('192.0.2.%d' % rng.randint(1, 40), '198.51.100.%d' % rng.randint(1, 40),
                                              rng.choice((6, 17)), samples.udp(rng.randint(1, 4), 53, b'x' * rng.choice((0, 8)))))
        records.append((samples.ETHERNET, samples.EPOCH_NS, len(frame), len(frame), frame))
    whole = summarise(records, top=EVERYTHING)
    assert len(whole['flows']) > 100 and len({(flow['packets'], flow['bytes']) for flow in whole['flows']}) < 20
    for top in (1, 2, 3, 5, 8, 13, 50):
        cut = summarise(records, top=top)
        for table in ('flows', 'sources', 'destinations'):
            assert cut[table] == whole[table][:top], (table, top)


def test_an_empty_capture():
    summary = summarise([])
    assert summary['packets'] == 0 and summary['first_packet'] is None and summary['flows'] == []


def test_times_are_rfc3339_utc_and_unordered_packets_are_fine():
    records = [(samples.RAW, 1764230400 * 10 ** 9 + 5 * 10 ** 8 + 999, 0, 0, b''),
               (samples.RAW, 1764230399 * 10 ** 9, 0, 0, b''), (samples.RAW, 1764230460 * 10 ** 9, 0, 0, b'')]
    summary = summarise(records)
    assert (summary['first_packet'], summary['last_packet'], summary['duration']) == (
        '2025-11-27T07:59:59.000000Z', '2025-11-27T08:01:00.000000Z', 61.0)


# ---- damaged and foreign files ---------------------------------------------------------------------------------

def summary_of(tmp_path, data):
    path = tmp_path / 'damaged.pcap'
    path.write_bytes(data)
    return summarise_file(str(path))


GOOD_PCAPNG = samples.section() + samples.interface(samples.ETHERNET) + samples.enhanced_packet(
    0, 5, samples.ethernet(samples.ipv4('192.0.2.1', '192.0.2.2', 1, samples.icmp())))


@pytest.mark.parametrize('data, message', [
    (b'GIF89a', r'^the file starts with 0x38464947, which is neither'),
    (samples.random_pcap(1, 3)[:10], r'^the pcap global header is truncated: the file ends at byte offset 10'),
    (struct.pack('<IHHiIII', 0xa1b2c3d4, 3, 0, 0, 0, 160, 1), r'version 3\.0'),
    (samples.random_pcap(1, 2)[:-3], r'^packet 2 is truncated: its record header says \d+ captured bytes from byte offset \d+'),
    (samples.random_pcap(1, 2) + b'\0' * 5, r'^packet 3 has a truncated record header: the file ends at byte offset \d+'),
    (GOOD_PCAPNG[:8] + b'\x01\x02\x03\x04' + GOOD_PCAPNG[12:],
     r'section header block at byte offset 0 has no valid byte-order magic \(01 02 03 04\)'),
    (GOOD_PCAPNG[:-3], r'enhanced packet block at byte offset \d+ is truncated'),
    (GOOD_PCAPNG[:-4] + b'\0\0\0\0', r'enhanced packet block at byte offset \d+ says it is \d+ bytes long at its start '
                                     r'but 0 at its end'),
    (samples.section() + samples.enhanced_packet(0, 5, b'x'), r'refers to interface 0, but its section describes 0 interfaces'),
    (GOOD_PCAPNG + samples.section() + samples.enhanced_packet(0, 5, b'x'),
     r'^the pcapng enhanced packet block at byte offset %d refers to interface 0' % (len(GOOD_PCAPNG) + len(samples.section()))),
    (samples.section() + struct.pack('<II', 1, 13) + b'\0' * 5,
     r'interface description block at byte offset %d has an invalid length 13' % len(samples.section())),
    (samples.section() + samples.interface(1, tsresol=200)[:-4] + samples.interface(1, 0)[-4:],
     'says it is 32 bytes long at its start'),
    (samples.section() + samples.interface(1, 0, tsoffset=2 ** 62) + samples.enhanced_packet(0, 5, b''),
     r'^the first packet has a timestamp of \d+ seconds since 1970, outside the years 1 to 9999'),
])
def test_damaged_files_say_what_and_where(tmp_path, data, message):
    with pytest.raises(NotAPcap, match=message):
        summary_of(tmp_path, data)


VALID_FILES = [
    samples.random_pcap(11, 8),
    samples.random_pcap(12, 8, order='>', nanoseconds=True, link_type=samples.SLL2),
    samples.pcapng_file(random.Random(13), [('<', [(samples.ETHERNET, None, None, 160), (samples.RAW, 9, 60, 0)]),
                                            ('>', [(samples.SLL, 0x88, None, 96)])], packets_per_section=4,
                        simple_packets=True, old_packets=True),
]


def only_not_a_pcap(tmp_path, data):
    """Either a summary or NotAPcap with a message; no other exception."""
    try:
        file_format, summary = summary_of(tmp_path, data)
    except NotAPcap as exc:
        assert str(exc)
        return None
    assert file_format in ('pcap', 'pcapng') and summary['packets'] >= 0
    return summary


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_random_bytes_give_a_summary_or_not_a_pcap(tmp_path, data):
    only_not_a_pcap(tmp_path, data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), magic=st.sampled_from([b'\xd4\xc3\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\x4d\x3c\xb2\xa1',
                                                            b'\x0a\x0d\x0d\x0a']))
def test_random_bytes_after_a_magic_number_give_a_summary_or_not_a_pcap(tmp_path, data, magic):
    only_not_a_pcap(tmp_path, magic + data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(original=st.sampled_from(VALID_FILES), edits=st.lists(st.tuples(
    st.sampled_from(['set', 'insert', 'delete', 'cut']), st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    min_size=1, max_size=6))
def test_mutated_files_give_a_summary_or_not_a_pcap(tmp_path, original, edits):
    data = bytearray(original)
    for action, where, value in edits:
        where %= max(len(data), 1)
        if action == 'set' and data:
            data[where] = value
        elif action == 'insert':
            data[where:where] = bytes([value]) * (value % 9 + 1)
        elif action == 'delete':
            del data[where:where + value % 9 + 1]
        elif action == 'cut':
            del data[where:]
    only_not_a_pcap(tmp_path, bytes(data))


def test_the_records_of_a_valid_file_are_read_in_order(tmp_path):
    path = tmp_path / 'ok.pcap'
    path.write_bytes(VALID_FILES[0])
    with open(str(path), 'rb') as handle:
        file_format, records = read_records(handle)
        assert file_format == 'pcap' and len(list(records)) == 8
