# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Recognise a libpcap or pcapng file and count its packets, without third-party libraries.
Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import struct

# libpcap magic numbers as read little-endian: microsecond and nanosecond timestamps, both byte orders.
PCAP_MAGIC = {
    0xa1b2c3d4: '<', 0xd4c3b2a1: '>',
    0xa1b23c4d: '<', 0x4d3cb2a1: '>',
}
PCAP_HEADER_SIZE = 24
PCAP_RECORD_HEADER_SIZE = 16
PCAPNG_SECTION_HEADER = 0x0a0d0d0a
PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d
# Block types that hold one packet each: Enhanced Packet, Simple Packet, and the obsolete Packet Block.
PCAPNG_PACKET_BLOCKS = frozenset((6, 3, 2))


class NotAPcap(ValueError):
    """The file is not a complete libpcap or pcapng file."""


def inspect(path):
    """Return (format, packets) for a libpcap ('pcap') or pcapng ('pcapng') file; raise NotAPcap otherwise."""
    with open(path, 'rb') as handle:
        head = handle.read(4)
        if len(head) < 4:
            raise NotAPcap('the file is %d bytes long, too short for a capture file' % len(head))
        magic = struct.unpack('<I', head)[0]
        handle.seek(0)
        if magic in PCAP_MAGIC:
            return 'pcap', _count_pcap(handle, PCAP_MAGIC[magic])
        if magic == PCAPNG_SECTION_HEADER:
            return 'pcapng', _count_pcapng(handle)
    raise NotAPcap('the file starts with 0x%08x, which is neither a pcap nor a pcapng magic number' % magic)


def _count_pcap(handle, order):
    if len(handle.read(PCAP_HEADER_SIZE)) < PCAP_HEADER_SIZE:
        raise NotAPcap('the pcap global header is truncated')
    packets = 0
    while True:
        record = handle.read(PCAP_RECORD_HEADER_SIZE)
        if not record:
            return packets
        if len(record) < PCAP_RECORD_HEADER_SIZE:
            raise NotAPcap('packet %d has a truncated record header' % (packets + 1))
        captured_length = struct.unpack(order + 'IIII', record)[2]
        if len(handle.read(captured_length)) < captured_length:
            raise NotAPcap('packet %d is truncated' % (packets + 1))
        packets += 1


def _count_pcapng(handle):
    packets = 0
    order = '<'
    while True:
        header = handle.read(8)
        if not header:
            return packets
        if len(header) < 8:
            raise NotAPcap('a pcapng block header is truncated')
        if struct.unpack('<I', header[:4])[0] == PCAPNG_SECTION_HEADER:
            # Each section says its own byte order.
            byte_order = handle.read(4)
            if len(byte_order) < 4:
                raise NotAPcap('the pcapng section header is truncated')
            order = '<' if struct.unpack('<I', byte_order)[0] == PCAPNG_BYTE_ORDER_MAGIC else '>'
            handle.seek(-4, 1)
        block_type, total_length = struct.unpack(order + 'II', header)
        if total_length < 12 or total_length % 4:
            raise NotAPcap('a pcapng block has an invalid length %d' % total_length)
        body = handle.read(total_length - 8)
        if len(body) < total_length - 8:
            raise NotAPcap('a pcapng block is truncated')
        if block_type in PCAPNG_PACKET_BLOCKS:
            packets += 1
