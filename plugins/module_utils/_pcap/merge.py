# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Merge the files of one capture into one capture file in time order, as Wireshark's mergecap does.
Private to cloudflare.pcap.

Why: Cloudflare writes a full capture as several files named pcap_<id>.pcap, "as captures can occur across multiple
machines" (developers.cloudflare.com, cloudflare-network-firewall/packet-captures/collect-pcaps/), and its docs
point to mergecap to join them. The modules run wherever Ansible runs them, where Wireshark may not be.

What comes out, and why:
- Order: a k-way merge by timestamp that reads each file front to back and holds one record per file in memory.
  Equal timestamps keep the order of the inputs; a file whose own records go back in time keeps its order (mergecap
  does the same).
- Format: libpcap when every input has one and the same link type, since every tool reads it and it is what
  Cloudflare writes; otherwise pcapng, whose Interface Description Blocks (one per link type) let one file hold
  several link types, which libpcap cannot.
- Resolution: microseconds when every input's clock ticks in whole microseconds (the classic libpcap format, which
  the oldest readers still need); nanoseconds as soon as one does not, so that no timestamp loses digits.
- Records without a timestamp (pcapng Simple Packet Blocks) take the time of the record before them in their file,
  so they stay right after it; before a file's first timed record they take time 0 (the epoch) and come first.
  libpcap has no way to say "no time", so they are written with the time they sorted by.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import heapq
import struct

from ansible_collections.cloudflare.pcap.plugins.module_utils._atomic_file import write_atomically
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import (
    NANOSECONDS,
    PCAP_MAGIC,
    PCAPNG_EPB,
    PCAPNG_IDB,
    PCAPNG_SECTION_HEADER,
    NotAPcap,
    _Block,
    _read_interface,
    read_records,
)

# The snapshot length of a merged pcap file: libpcap's largest (MAXIMUM_SNAPLEN), which is also Wireshark's for
# most link types, or an input's when that is larger.
LARGEST_SNAPLEN = 262144
PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS = 0xa1b2c3d4, 0xa1b23c4d
SHB_USERAPPL, IF_TSRESOL, OPT_ENDOFOPT = 4, 9, 0
_WRITE_CHUNK = 1 << 20  # bytes gathered before one write and one hash update: fewer calls, the same result


def merge_captures(paths, dest, mode=0o600, consume=None):
    """Merge the capture files at `paths` (libpcap or pcapng, in any mix) into one file at dest, written atomically
    with `mode`. Return dest, format ('pcap' or 'pcapng'), packets, link_types (in the order of their first
    appearance), timestamps ('microseconds' or 'nanoseconds'), size, checksum (SHA-256 of the file), inputs (how
    many files), empty (no packets: an empty list of paths, or files that hold none, still give a valid file) and
    input_files: for each path its format and packets.

    consume, when given, reads the records as they are written, in the same pass: an iterator of (link_type,
    timestamp_ns, captured, original, data) as the merged file holds them (summary.tally, say); what it returns is
    `consumed` in the result. So the inputs are read once, however many things are made of them.

    A file that is not a capture, or is damaged, raises NotAPcap naming it, and dest is left as it was. Every
    input stays open while the merge runs: one file descriptor each."""
    handles = []
    try:
        inputs = []
        for path in paths:
            handle = open(path, 'rb')
            handles.append(handle)
            inputs.append(_open_input(path, handle))
        link_types = []
        whole_microseconds = True
        snaplen = LARGEST_SNAPLEN
        for described in inputs:
            link_types.extend(link_type for link_type in described.link_types if link_type not in link_types)
            whole_microseconds = whole_microseconds and described.whole_microseconds
            snaplen = max(snaplen, described.snaplen)
        # Without any link type (no inputs, or pcapng files without interfaces) only pcapng can say so: a pcap
        # header would have to claim one.
        file_format = 'pcap' if len(link_types) == 1 else 'pcapng'
        writer = _Writer(file_format, link_types, not whole_microseconds, snaplen)
        # Each input yields (time, its position in the list, ...): no two inputs tie on the first two, so the
        # merge never compares further, and equal times come out in the order of the inputs.
        records = heapq.merge(*[_timed_records(described, position, writer.latest)
                                for position, described in enumerate(inputs)])
        counts = [0] * len(inputs)
        write_atomically(dest, mode, lambda write: writer.write(records, write, counts, consume))
    finally:
        for handle in handles:
            handle.close()
    merged = dict(dest=dest, format=file_format, packets=writer.packets, link_types=link_types,
                  timestamps='microseconds' if whole_microseconds else 'nanoseconds', size=writer.size,
                  checksum=writer.digest.hexdigest(), inputs=len(inputs), empty=writer.packets == 0,
                  input_files=[dict(format=described.format, packets=count) for described, count in zip(inputs, counts)])
    if consume is not None:
        merged['consumed'] = writer.consumed
    return merged


class _Input:
    """One input file: its path, its records, and what its headers say before any record is read."""

    __slots__ = ('path', 'format', 'records', 'link_types', 'whole_microseconds', 'snaplen')

    def __init__(self, path, file_format):
        self.path = path
        self.format = file_format
        self.records = None
        self.link_types = []
        self.whole_microseconds = True
        self.snaplen = 0


def _open_input(path, handle):
    """Read the headers of one file (the link types, clocks and snapshot lengths the output needs before its first
    record), then start the reader over from the beginning."""
    try:
        file_format = read_records(handle)[0]  # NotAPcap at once for a file of another kind
        handle.seek(0)
        described = _Input(path, file_format)
        if file_format == 'pcap':
            _describe_pcap(handle, described)
        else:
            _describe_pcapng(handle, described)
        handle.seek(0)
        described.records = read_records(handle)[1]
    except NotAPcap as exc:
        raise NotAPcap('%s: %s' % (path, exc))
    return described


def _describe_pcap(handle, described):
    header = handle.read(24)
    if len(header) < 24:
        return  # the reader says what is wrong when the records are read
    order, nanoseconds = PCAP_MAGIC[struct.unpack('<I', header[:4])[0]]
    snaplen, network = struct.unpack(order + 'II', header[16:24])
    described.link_types.append(network & 0xffff)
    described.whole_microseconds = not nanoseconds
    described.snaplen = snaplen


def _describe_pcapng(handle, described):
    """Walk the blocks of a pcapng file, reading only the Interface Description Blocks and skipping over the rest.
    Where the file is damaged the walk stops: the reader names the damage when the records are read."""
    order = '<'
    offset = 0
    while True:
        head = handle.read(8)
        if len(head) < 8:
            return
        if head[:4] == b'\x0a\x0d\x0d\x0a':
            byte_order = handle.read(4)
            order = '>' if byte_order == b'\x1a\x2b\x3c\x4d' else '<'
            block_type, length = PCAPNG_SECTION_HEADER, struct.unpack(order + 'I', head[4:])[0]
            rest = length - 12
        else:
            block_type, length = struct.unpack(order + 'II', head)
            rest = length - 8
        if length < 12 or length % 4:
            return
        if block_type == PCAPNG_IDB:
            body = handle.read(rest - 4)
            if len(body) < rest - 4:
                return
            interface = _read_interface(body, order, _Block(block_type, offset))
            if interface.link_type not in described.link_types:
                described.link_types.append(interface.link_type)
            # A tick of multiplier / divisor nanoseconds is a whole number of microseconds, or it is not.
            described.whole_microseconds = described.whole_microseconds and \
                interface.multiplier % (1000 * interface.divisor) == 0
            described.snaplen = max(described.snaplen, interface.snaplen)
            handle.seek(4, 1)
        else:
            handle.seek(rest, 1)
        offset += length


def _timed_records(described, position, latest):
    """(time to sort by, position, link type, captured bytes, original length) of each record of one input, with
    the time of the record before it for a record without one. NotAPcap names the file, as does a time that the output
    cannot hold (`latest` is the last nanosecond it can)."""
    path = described.path
    moment = 0
    number = 0
    try:
        for link_type, timestamp, _captured, original, data in described.records:
            number += 1
            if timestamp is not None:
                moment = timestamp
                if not 0 <= moment <= latest:
                    raise NotAPcap('packet %d has the time %d ns since the epoch, which the merged file cannot hold'
                                   % (number, moment))
            yield moment, position, link_type, data, original
    except NotAPcap as exc:
        raise NotAPcap('%s: %s' % (path, exc))


class _Writer:
    """Writes the merged records as libpcap or pcapng, counting them and hashing what it writes."""

    def __init__(self, file_format, link_types, nanoseconds, snaplen):
        self.file_format = file_format
        self.link_types = link_types
        self.nanoseconds = nanoseconds
        self.snaplen = snaplen
        self.packets = 0
        self.consumed = None
        self.size = 0
        self.digest = hashlib.sha256()
        if file_format == 'pcap':
            # The pcap record header holds whole seconds in 32 bits.
            self.latest = (1 << 32) * NANOSECONDS - 1
        else:
            # The pcapng enhanced packet block holds 64 bits of ticks.
            self.latest = ((1 << 64) - 1) * (1 if nanoseconds else 1000)

    def write(self, records, write, counts, consume=None):
        """Write the merged records, counting those of each input (counts, by position) and letting consume read
        them on the way."""
        parts = [self._pcap_header() if self.file_format == 'pcap' else self._pcapng_header()]
        written = self._written(records, write, parts, counts)
        if consume is None:
            for _record in written:
                pass
        else:
            self.consumed = consume(written)
        self._flush(parts, write)
        self.packets = sum(counts)

    def _written(self, records, write, parts, counts):
        """Put each record into parts (written out a chunk at a time) and yield it as the merged file holds it."""
        gathered = len(parts[0])
        divisor = 1 if self.nanoseconds else 1000
        if self.file_format == 'pcap':
            record_header = struct.Struct('<IIII').pack
            append = parts.append
            for moment, position, link_type, data, original in records:
                captured = len(data)
                seconds, fraction = divmod(moment, NANOSECONDS)
                append(record_header(seconds, fraction // divisor, captured, original))
                append(data)
                counts[position] += 1
                gathered += 16 + captured
                if gathered >= _WRITE_CHUNK:
                    self._flush(parts, write)
                    gathered = 0
                yield link_type, moment, captured, original, data
        else:
            block_header = struct.Struct('<IIIIIII').pack
            interface_of = dict((link_type, number) for number, link_type in enumerate(self.link_types))
            for moment, position, link_type, data, original in records:
                ticks = moment // divisor
                padding = -len(data) % 4
                length = 32 + len(data) + padding
                parts.append(block_header(PCAPNG_EPB, length, interface_of[link_type], ticks >> 32, ticks & 0xffffffff,
                                          len(data), original))
                parts.append(data)
                parts.append(b'\0' * padding + struct.pack('<I', length))
                counts[position] += 1
                gathered += length
                if gathered >= _WRITE_CHUNK:
                    self._flush(parts, write)
                    gathered = 0
                yield link_type, moment, len(data), original, data

    def _flush(self, parts, write):
        chunk = b''.join(parts)
        del parts[:]
        self.digest.update(chunk)
        self.size += len(chunk)
        write(chunk)

    def _pcap_header(self):
        magic = PCAP_MAGIC_NANOSECONDS if self.nanoseconds else PCAP_MAGIC_MICROSECONDS
        return struct.pack('<IHHiIII', magic, 2, 4, 0, 0, self.snaplen, self.link_types[0])

    def _pcapng_header(self):
        section = struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1) + _option(SHB_USERAPPL, b'cloudflare.pcap') + \
            _option(OPT_ENDOFOPT, b'')
        blocks = [_block(PCAPNG_SECTION_HEADER, section)]
        # Interface snapshot length 0: no limit. Without if_tsresol a pcapng interface counts in microseconds.
        resolution = _option(IF_TSRESOL, b'\x09') + _option(OPT_ENDOFOPT, b'') if self.nanoseconds else b''
        for link_type in self.link_types:
            blocks.append(_block(PCAPNG_IDB, struct.pack('<HHI', link_type, 0, 0) + resolution))
        return b''.join(blocks)


def _option(code, value):
    return struct.pack('<HH', code, len(value)) + value + b'\0' * (-len(value) % 4)


def _block(block_type, body):
    length = 12 + len(body)
    return struct.pack('<II', block_type, length) + body + struct.pack('<I', length)
