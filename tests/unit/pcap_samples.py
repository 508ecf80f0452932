# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Capture files of every format the summary reads, built byte by byte for the tests, and dpkt's reading of them.

Frames: Ethernet with 802.1Q / QinQ tags, raw IP, Linux SLL and SLL2; IPv4 with options and fragments, IPv6 with
extension headers and fragments; TCP, UDP, ICMP, ICMPv6, and ARP (not IP). Files: pcap in both byte orders with
micro- or nanosecond timestamps, and pcapng with several sections and interfaces (their own link types, snaplens,
if_tsresol and if_tsoffset), Enhanced, Simple and obsolete Packet Blocks.
"""

from __future__ import annotations

import ipaddress
import random
import struct

SNAPLEN = 160  # what Cloudflare keeps of each sampled packet
EPOCH_NS = 1764230400 * 10 ** 9  # 2025-11-27T08:00:00Z

ETHERNET, RAW, IPV4_LINK, IPV6_LINK, SLL, SLL2 = 1, 101, 228, 229, 113, 276


# ---- headers -------------------------------------------------------------------------------------------------

def tcp(source_port, destination_port, payload=b''):
    return struct.pack('!HHIIHHHH', source_port, destination_port, 1, 2, (5 << 12) | 0x18, 65535, 0, 0) + payload


def udp(source_port, destination_port, payload=b''):
    return struct.pack('!HHHH', source_port, destination_port, 8 + len(payload), 0) + payload


def icmp(payload=b''):
    return struct.pack('!BBHHH', 8, 0, 0, 1, 1) + payload


def icmpv6(payload=b''):
    return struct.pack('!BBHHH', 128, 0, 0, 1, 1) + payload


def ipv4(source, destination, protocol, segment, options=b'', fragment_offset=0, more_fragments=False):
    options += b'\0' * (-len(options) % 4)
    header_length = 20 + len(options)
    flags = (0x2000 if more_fragments else 0) | fragment_offset
    return struct.pack('!BBHHHBBH4s4s', 0x40 | header_length // 4, 0, header_length + len(segment), 7, flags, 64,
                       protocol, 0, ipaddress.IPv4Address(source).packed,
                       ipaddress.IPv4Address(destination).packed) + options + segment


def ipv6(source, destination, protocol, segment, extensions=()):
    """extensions: (header type, its bytes after the next-header byte) in order; each gets its next header."""
    chain = b''
    types = [header_type for header_type, _body in extensions] + [protocol]
    for index, (_header_type, body) in enumerate(extensions):
        chain += bytes([types[index + 1]]) + body
    payload = chain + segment
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), types[0], 64, ipaddress.IPv6Address(source).packed,
                       ipaddress.IPv6Address(destination).packed) + payload


def hop_by_hop(units=0):
    """An options header of 8 * (units + 1) bytes (also destination options)."""
    return bytes([units]) + b'\x01' + bytes([4 + 8 * units]) + b'\0' * (4 + 8 * units)


def routing():
    return b'\x02\x00\x01\x00\x00\x00\x00' + b'\0' * 16  # type 0, one address, 24 bytes in all


def fragment(offset_units=0, more=True):
    return b'\x00' + struct.pack('!HI', (offset_units << 3) | int(more), 0x1234)


def authentication():
    return b'\x04' + b'\0' * 22  # payload length 4: (4 + 2) * 4 = 24 bytes


def ethernet(packet, ethertype=0x0800, tags=()):
    header = bytes.fromhex('020000000002020000000001')
    for tag_type, vlan in tags:
        header += struct.pack('!HH', tag_type, vlan)
    return header + struct.pack('!H', ethertype) + packet


def sll(packet, ethertype=0x0800):
    return struct.pack('!HHH8sH', 0, 1, 6, b'\x02\0\0\0\0\x01\0\0', ethertype) + packet


def sll2(packet, ethertype=0x0800):
    return struct.pack('!HHIHBB8s', ethertype, 0, 2, 1, 0, 6, b'\x02\0\0\0\0\x01\0\0') + packet


ARP = bytes.fromhex('0001080006040001020000000001c0000201000000000000c0000202')


# ---- random traffic ------------------------------------------------------------------------------------------

V4 = ['192.0.2.%d' % number for number in range(1, 6)] + ['198.51.100.7', '203.0.113.10']
V6 = ['2001:db8::%x' % number for number in range(1, 5)] + ['2001:db8:0:1::53']


def random_packet(rng, version=None):
    """(ethertype, packet bytes) of a random IPv4, IPv6 or ARP packet, with options, extensions and fragments."""
    version = version or rng.choice((4, 4, 6, 6, 0))
    payload = bytes(rng.getrandbits(8) for _byte in range(rng.choice((0, 10, 200, 1300))))
    if version == 0:
        return 0x0806, ARP
    protocol = rng.choice((6, 6, 17, 17, 1 if version == 4 else 58))
    ports = (rng.choice((1024, 40000, 55555)), rng.choice((53, 80, 443)))
    if protocol == 6:
        segment = tcp(ports[0], ports[1], payload)
    elif protocol == 17:
        segment = udp(ports[0], ports[1], payload)
    else:
        segment = icmp(payload) if version == 4 else icmpv6(payload)
    if version == 4:
        source, destination = rng.choice(V4), rng.choice(V4)
        options = rng.choice((b'', b'', b'\x94\x04\0\0', b'\x01' * 12))  # router alert, NOPs
        later_fragment = rng.random() < 0.15
        return 0x0800, ipv4(source, destination, protocol, segment, options, fragment_offset=185 if later_fragment else 0,
                            more_fragments=later_fragment or rng.random() < 0.1)
    source, destination = rng.choice(V6), rng.choice(V6)
    extensions = rng.choice(((), (), ((0, hop_by_hop()),), ((0, hop_by_hop(1)), (60, hop_by_hop())),
                             ((43, routing()),), ((44, fragment(0)),), ((44, fragment(181, False)),)))
    return 0x86dd, ipv6(source, destination, protocol, segment, extensions)


def frame(rng, link_type):
    ethertype, packet = random_packet(rng, version=None if link_type in (ETHERNET, SLL, SLL2) else rng.choice(
        {RAW: (4, 6), IPV4_LINK: (4,), IPV6_LINK: (6,)}[link_type]))
    if link_type == ETHERNET:
        tags = rng.choice(((), (), ((0x8100, 10),), ((0x88a8, 100), (0x8100, 10)), ((0x9100, 5), (0x8100, 6))))
        return ethernet(packet, ethertype, tags)
    if link_type == SLL:
        return sll(packet, ethertype)
    if link_type == SLL2:
        return sll2(packet, ethertype)
    return packet


# ---- files ---------------------------------------------------------------------------------------------------

def pcap_file(frames, order='<', nanoseconds=False, link_type=ETHERNET, snaplen=SNAPLEN, start_ns=EPOCH_NS,
              step_ns=1234567):
    """A libpcap file; each frame keeps its first snaplen bytes."""
    magic = 0xa1b23c4d if nanoseconds else 0xa1b2c3d4
    parts = [struct.pack(order + 'IHHiIII', magic, 2, 4, 0, 0, snaplen, link_type)]
    for index, data in enumerate(frames):
        moment = start_ns + index * step_ns
        seconds, rest = divmod(moment, 10 ** 9)
        kept = data[:snaplen]
        parts.append(struct.pack(order + 'IIII', seconds, rest if nanoseconds else rest // 1000, len(kept), len(data)))
        parts.append(kept)
    return b''.join(parts)


def block(block_type, body, order='<'):
    body += b'\0' * (-len(body) % 4)
    return struct.pack(order + 'II', block_type, 12 + len(body)) + body + struct.pack(order + 'I', 12 + len(body))


def option(code, value, order='<'):
    return struct.pack(order + 'HH', code, len(value)) + value + b'\0' * (-len(value) % 4)


def section(order='<'):
    return block(0x0a0d0d0a, struct.pack(order + 'IHHq', 0x1a2b3c4d, 1, 0, -1) + option(1, b'test', order) +
                 option(0, b'', order), order)


def interface(link_type, snaplen=SNAPLEN, tsresol=None, tsoffset=None, order='<'):
    options = b''
    if tsresol is not None:
        options += option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        options += option(14, struct.pack(order + 'q', tsoffset), order)
    if options:
        options += option(0, b'', order)
    return block(1, struct.pack(order + 'HHI', link_type, 0, snaplen) + options, order)


def units_per_second(tsresol):
    if tsresol is None:
        return 10 ** 6
    return 2 ** (tsresol & 0x7f) if tsresol & 0x80 else 10 ** tsresol


def enhanced_packet(interface_number, raw_timestamp, data, snaplen=SNAPLEN, order='<'):
    kept = data[:snaplen] if snaplen else data
    return block(6, struct.pack(order + 'IIIII', interface_number, raw_timestamp >> 32, raw_timestamp & 0xffffffff,
                                len(kept), len(data)) + kept + option(1, b'comment', order), order)


def old_packet(interface_number, raw_timestamp, data, snaplen=SNAPLEN, order='<'):
    kept = data[:snaplen] if snaplen else data
    return block(2, struct.pack(order + 'HHIIII', interface_number, 0, raw_timestamp >> 32, raw_timestamp & 0xffffffff,
                                len(kept), len(data)) + kept, order)


def simple_packet(data, snaplen=SNAPLEN, order='<'):
    kept = data[:snaplen] if snaplen else data
    return block(3, struct.pack(order + 'I', len(data)) + kept, order)


def name_resolution(order='<'):
    return block(4, struct.pack(order + 'HH', 1, 8) + bytes([192, 0, 2, 1]) + b'gw\0\0' + struct.pack(order + 'HH', 0, 0),
                 order)


def raw_timestamp(moment_ns, tsresol, tsoffset):
    return (moment_ns - (tsoffset or 0) * 10 ** 9) * units_per_second(tsresol) // 10 ** 9


def pcapng_file(rng, sections, packets_per_section=40, simple_packets=False, old_packets=False,
                start_ns=EPOCH_NS, step_ns=2345678):
    """sections: one list per section of (link type, tsresol or None, tsoffset or None, snaplen, byte order is
    the section's: '<' or '>') interfaces, given as [(order, [(link_type, tsresol, tsoffset, snaplen), ...]), ...].
    Packets go to random interfaces; with simple_packets, some go as SPBs (interface 0, no time)."""
    parts = []
    moment = start_ns
    for order, interfaces in sections:
        parts.append(section(order))
        parts.append(name_resolution(order))
        for link_type, tsresol, tsoffset, snaplen in interfaces:
            parts.append(interface(link_type, snaplen, tsresol, tsoffset, order))
        for _packet in range(packets_per_section):
            number = rng.randrange(len(interfaces))
            link_type, tsresol, tsoffset, snaplen = interfaces[number]
            moment += step_ns
            if simple_packets and rng.random() < 0.3:
                parts.append(simple_packet(frame(rng, interfaces[0][0]), interfaces[0][3], order))
            elif old_packets and rng.random() < 0.3:
                parts.append(old_packet(number, raw_timestamp(moment, tsresol, tsoffset), frame(rng, link_type),
                                        snaplen, order))
            else:
                parts.append(enhanced_packet(number, raw_timestamp(moment, tsresol, tsoffset), frame(rng, link_type),
                                             snaplen, order))
    return b''.join(parts)


def random_pcap(seed, packets=200, order='<', nanoseconds=False, link_type=ETHERNET, snaplen=SNAPLEN):
    rng = random.Random(seed)
    return pcap_file([frame(rng, link_type) for _index in range(packets)], order, nanoseconds, link_type, snaplen)
