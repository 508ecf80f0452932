# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read the packet records of a libpcap or pcapng file, without third-party libraries.
Private to cloudflare.pcap.

Why our own reader: the modules run wherever Ansible runs them, so a dependency would have to be installed on
every such host. dpkt, the maintained-enough pure-Python reader, had its last release in 2022 and reads only the
first interface of a pcapng file (no Simple Packet Blocks, no second section); scapy is GPL-2.0-only, which
cannot be combined with this GPL-3.0-or-later collection, and takes about a second to import. The two file
formats are small and fully specified (libpcap: pcap-savefile(5) and draft-ietf-opsawg-pcap; pcapng:
draft-ietf-opsawg-pcapng), so this module reads them with `struct`, streaming, and checks every length it reads
against the bytes that are really there. The unit tests compare its figures with dpkt's on the same files and fuzz
it with hypothesis: whatever the bytes, the only error that comes out is NotAPcap, naming the byte offset.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import struct

# libpcap magic numbers as read little-endian -> (byte order, nanosecond timestamps).
PCAP_MAGIC = {
    0xa1b2c3d4: ('<', False), 0xd4c3b2a1: ('>', False),
    0xa1b23c4d: ('<', True), 0x4d3cb2a1: ('>', True),
}
PCAP_HEADER_SIZE = 24
PCAP_RECORD_HEADER_SIZE = 16
PCAPNG_SECTION_HEADER = 0x0a0d0d0a
PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d
# Block types: Section Header, Interface Description, (obsolete) Packet, Simple Packet, Enhanced Packet.
PCAPNG_SHB, PCAPNG_IDB, PCAPNG_PB, PCAPNG_SPB, PCAPNG_EPB = PCAPNG_SECTION_HEADER, 1, 2, 3, 6
# Interface Description Block options: if_tsresol (timestamp resolution), if_tsoffset (seconds to add).
IF_TSRESOL, IF_TSOFFSET = 9, 14
NANOSECONDS = 1000000000


class NotAPcap(ValueError):
    """The file is not a complete libpcap or pcapng file; the message says what is wrong and at which byte offset."""


def inspect(path):
    """Return (format, packets) for a libpcap ('pcap') or pcapng ('pcapng') file; raise NotAPcap otherwise."""
    with open(path, 'rb') as handle:
        file_format, records = read_records(handle)
        packets = 0
        for _record in records:
            packets += 1
    return file_format, packets


def read_records(handle):
    """(format, records) of an open binary file: format is 'pcap' or 'pcapng', records an iterator of
    (link_type, timestamp in nanoseconds since the epoch or None, captured length, original length, data).

    NotAPcap is raised at once for a file of another kind, and while iterating where the file is damaged."""
    size = os.fstat(handle.fileno()).st_size - handle.tell()
    head = handle.read(4)
    if len(head) < 4:
        raise NotAPcap('the file is %d bytes long, too short for a capture file' % len(head))
    magic = struct.unpack('<I', head)[0]
    if magic in PCAP_MAGIC:
        order, nanoseconds = PCAP_MAGIC[magic]
        return 'pcap', _pcap_records(handle, size, order, nanoseconds)
    if magic == PCAPNG_SECTION_HEADER:
        return 'pcapng', _pcapng_records(handle, size, head)
    raise NotAPcap('the file starts with 0x%08x, which is neither a pcap nor a pcapng magic number' % magic)


def _pcap_records(handle, size, order, nanoseconds):
    header = handle.read(PCAP_HEADER_SIZE - 4)
    if len(header) < PCAP_HEADER_SIZE - 4:
        raise NotAPcap('the pcap global header is truncated: the file ends at byte offset %d, before byte 24'
                       % (4 + len(header)))
    major, minor, _zone, _sigfigs, _snaplen, network = struct.unpack(order + 'HHiIII', header)
    if major != 2:
        raise NotAPcap('the pcap global header at byte offset 0 says version %d.%d; only version 2 exists'
                       % (major, minor))
    link_type = network & 0xffff  # the upper bits say whether frames end in a frame check sequence
    scale = 1 if nanoseconds else 1000
    record_header = struct.Struct(order + 'IIII').unpack
    read = handle.read
    offset = PCAP_HEADER_SIZE
    number = 0
    while True:
        head = read(PCAP_RECORD_HEADER_SIZE)
        number += 1
        if len(head) < PCAP_RECORD_HEADER_SIZE:
            if not head:
                return
            raise NotAPcap('packet %d has a truncated record header: the file ends at byte offset %d, %d bytes into '
                           'the 16-byte header' % (number, offset + len(head), len(head)))
        seconds, fraction, captured, original = record_header(head)
        offset += PCAP_RECORD_HEADER_SIZE
        if captured > size - offset:
            raise NotAPcap('packet %d is truncated: its record header says %d captured bytes from byte offset %d, '
                           'but the file ends %d bytes later' % (number, captured, offset, size - offset))
        data = read(captured)
        if len(data) < captured:  # the file shrank while it was read
            raise NotAPcap('packet %d is truncated: the file ends at byte offset %d' % (number, offset + len(data)))
        offset += captured
        yield link_type, seconds * NANOSECONDS + fraction * scale, captured, original, data


class _Interface:
    """What a pcapng Interface Description Block says about the packets of that interface."""

    __slots__ = ('link_type', 'snaplen', 'multiplier', 'divisor', 'offset')

    def __init__(self, link_type, snaplen):
        self.link_type = link_type
        self.snaplen = snaplen
        self.multiplier, self.divisor = 1000, 1  # microseconds unless if_tsresol says otherwise
        self.offset = 0  # if_tsoffset, in nanoseconds

    def timestamp(self, high, low):
        return ((high << 32) | low) * self.multiplier // self.divisor + self.offset


def _pcapng_records(handle, size, head):
    read = handle.read
    offset = 0
    order = '<'
    interfaces = []
    head += read(4)
    while True:
        if len(head) < 8:
            if not head:
                return
            raise NotAPcap('the pcapng block at byte offset %d is truncated: the file ends %d bytes into its 8-byte '
                           'header' % (offset, len(head)))
        if head[:4] == b'\x0a\x0d\x0d\x0a':
            # A Section Header Block: it says the byte order of its section; interfaces start anew.
            byte_order = read(4)
            if byte_order == b'\x4d\x3c\x2b\x1a':
                order = '<'
            elif byte_order == b'\x1a\x2b\x3c\x4d':
                order = '>'
            else:
                raise NotAPcap('the pcapng section header block at byte offset %d has no valid byte-order magic (%s)'
                               % (offset, _hex(byte_order)))
            block_type, length = struct.unpack(order + 'II', head)
            body_start = 4
            minimum = 28
            interfaces = []
        else:
            byte_order = b''
            block_type, length = struct.unpack(order + 'II', head)
            body_start = 0
            minimum = 12
        what = _Block(block_type, offset)
        if length < minimum or length % 4:
            raise NotAPcap('%s has an invalid length %d (a multiple of 4, at least %d)' % (what, length, minimum))
        if length > size - offset:
            raise NotAPcap('%s is truncated: it is %d bytes long, but the file ends %d bytes after its start'
                           % (what, length, size - offset))
        rest = byte_order + read(length - 8 - len(byte_order))
        if len(rest) < length - 8:  # the file shrank while it was read
            raise NotAPcap('%s is truncated: the file ends at byte offset %d' % (what, offset + 8 + len(rest)))
        trailer = struct.unpack(order + 'I', rest[-4:])[0]
        if trailer != length:
            raise NotAPcap('%s says it is %d bytes long at its start but %d at its end (byte offset %d)'
                           % (what, length, trailer, offset + length - 4))
        body = rest[body_start:-4]
        if block_type == PCAPNG_EPB:
            if len(body) < 20:
                raise NotAPcap('%s is too short for an enhanced packet block' % what)
            number, high, low, captured, original = struct.unpack_from(order + 'IIIII', body)
            interface = _interface(interfaces, number, what)
            if captured > len(body) - 20:
                raise NotAPcap('%s says %d captured bytes but holds only %d' % (what, captured, len(body) - 20))
            yield interface.link_type, interface.timestamp(high, low), captured, original, body[20:20 + captured]
        elif block_type == PCAPNG_SPB:
            if len(body) < 4:
                raise NotAPcap('%s is too short for a simple packet block' % what)
            interface = _interface(interfaces, 0, what)
            original = struct.unpack_from(order + 'I', body)[0]
            # The captured length is the original length cut to interface 0's snaplen (0: no limit).
            captured = min(original, len(body) - 4)
            if interface.snaplen:
                captured = min(captured, interface.snaplen)
            yield interface.link_type, None, captured, original, body[4:4 + captured]
        elif block_type == PCAPNG_PB:
            if len(body) < 20:
                raise NotAPcap('%s is too short for a packet block' % what)
            number, _drops, high, low, captured, original = struct.unpack_from(order + 'HHIIII', body)
            interface = _interface(interfaces, number, what)
            if captured > len(body) - 20:
                raise NotAPcap('%s says %d captured bytes but holds only %d' % (what, captured, len(body) - 20))
            yield interface.link_type, interface.timestamp(high, low), captured, original, body[20:20 + captured]
        elif block_type == PCAPNG_IDB:
            interfaces.append(_read_interface(body, order, what))
        elif block_type == PCAPNG_SHB:
            major, minor = struct.unpack_from(order + 'HH', body)
            if major != 1:
                raise NotAPcap('%s says pcapng version %d.%d; only version 1 exists' % (what, major, minor))
        # Other blocks (name resolution, statistics, custom, ...) hold no packets.
        offset += length
        head = read(8)


def _interface(interfaces, number, what):
    if number >= len(interfaces):
        raise NotAPcap('%s refers to interface %d, but its section describes %d interface%s before it'
                       % (what, number, len(interfaces), '' if len(interfaces) == 1 else 's'))
    return interfaces[number]


def _read_interface(body, order, what):
    if len(body) < 8:
        raise NotAPcap('%s is too short for an interface description block' % what)
    link_type, _reserved, snaplen = struct.unpack_from(order + 'HHI', body)
    interface = _Interface(link_type, snaplen)
    position = 8
    while position + 4 <= len(body):
        code, length = struct.unpack_from(order + 'HH', body, position)
        if code == 0:  # opt_endofopt
            break
        value = body[position + 4:position + 4 + length]
        if len(value) < length:
            raise NotAPcap('%s has option %d of %d bytes, longer than the block' % (what, code, length))
        if code == IF_TSRESOL and length >= 1:
            # Units per second: 10 to the power of the low 7 bits, or 2 to that power when the top bit is set.
            exponent = value[0] & 0x7f
            units = 2 ** exponent if value[0] & 0x80 else 10 ** exponent
            interface.multiplier, interface.divisor = NANOSECONDS, units
        elif code == IF_TSOFFSET and length >= 8:
            interface.offset = struct.unpack_from(order + 'q', value)[0] * NANOSECONDS
        position += 4 + length + (-length % 4)
    return interface


class _Block:
    """A block's name in messages, formatted only when one is needed."""

    __slots__ = ('block_type', 'offset')
    NAMES = {PCAPNG_SHB: 'section header', PCAPNG_IDB: 'interface description', PCAPNG_PB: 'packet',
             PCAPNG_SPB: 'simple packet', PCAPNG_EPB: 'enhanced packet'}

    def __init__(self, block_type, offset):
        self.block_type = block_type
        self.offset = offset

    def __str__(self):
        name = self.NAMES.get(self.block_type, 'type 0x%08x' % self.block_type)
        return 'the pcapng %s block at byte offset %d' % (name, self.offset)


def _hex(data):
    return ' '.join('%02x' % byte for byte in bytearray(data)) or 'nothing'
