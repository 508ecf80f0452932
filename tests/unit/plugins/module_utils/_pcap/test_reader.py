# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Recognising pcap and pcapng files and counting their packets."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import NotAPcap, inspect


def pcap_bytes(packets, order='<', magic=0xa1b2c3d4):
    data = struct.pack(order + 'IHHiIII', magic, 2, 4, 0, 0, 65535, 1)
    for number in range(packets):
        payload = bytes([number % 256]) * (60 + number)
        data += struct.pack(order + 'IIII', 1700000000 + number, 0, len(payload), len(payload)) + payload
    return data


def pcapng_block(block_type, body, order='<'):
    body += b'\0' * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(order + 'II', block_type, length) + body + struct.pack(order + 'I', length)


def pcapng_bytes(packets, order='<'):
    section = pcapng_block(0x0a0d0d0a, struct.pack(order + 'IHHq', 0x1a2b3c4d, 1, 0, -1), order)
    interface = pcapng_block(1, struct.pack(order + 'HHI', 1, 0, 65535), order)
    blocks = [pcapng_block(6, struct.pack(order + 'IIIII', 0, 0, 0, 4, 4) + b'abcd', order) for _number in range(packets)]
    return section + interface + b''.join(blocks)


def write(tmp_path, data):
    path = tmp_path / 'capture.pcap'
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize('order, magic', [('<', 0xa1b2c3d4), ('>', 0xa1b2c3d4), ('<', 0xa1b23c4d)])
@pytest.mark.parametrize('packets', [0, 1, 57])
def test_pcap_packets_are_counted(tmp_path, order, magic, packets):
    assert inspect(write(tmp_path, pcap_bytes(packets, order, magic))) == ('pcap', packets)


@pytest.mark.parametrize('order', ['<', '>'])
def test_pcapng_packets_are_counted(tmp_path, order):
    assert inspect(write(tmp_path, pcapng_bytes(7, order))) == ('pcapng', 7)


@pytest.mark.parametrize('data, reason', [
    (b'', 'too short'),
    (b'{"success": false}', 'neither a pcap nor a pcapng'),
    (b'<html><title>502</title></html>', 'neither a pcap nor a pcapng'),
    (pcap_bytes(3)[:20], 'global header is truncated'),
    (pcap_bytes(3)[:-5], 'packet 3 is truncated'),
    (pcap_bytes(2) + b'\0' * 4, 'packet 3 has a truncated record header'),
    (pcapng_bytes(2)[:-3], 'truncated'),
])
def test_broken_or_foreign_files_are_refused(tmp_path, data, reason):
    with pytest.raises(NotAPcap, match=reason):
        inspect(write(tmp_path, data))


def one_packet_pcapng(block_type, captured, data=b'abcdefgh'):
    """A pcapng file with one (enhanced or obsolete) packet block holding `data` but saying `captured` bytes."""
    section = pcapng_block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
    interface = pcapng_block(1, struct.pack('<HHI', 1, 0, 65535))
    if block_type == 6:
        header = struct.pack('<IIIII', 0, 0, 0, captured, captured)
    else:
        header = struct.pack('<HHIIII', 0, 0, 0, 0, captured, captured)
    return section + interface + pcapng_block(block_type, header + data)


@pytest.mark.parametrize('block_type', [6, 2], ids=['enhanced', 'obsolete'])
def test_a_packet_block_holding_exactly_its_captured_bytes_is_read(tmp_path, block_type):
    assert inspect(write(tmp_path, one_packet_pcapng(block_type, 8))) == ('pcapng', 1)


@pytest.mark.parametrize('block_type', [6, 2], ids=['enhanced', 'obsolete'])
@pytest.mark.parametrize('excess', [1, 2, 3, 4])
def test_a_packet_block_saying_more_captured_bytes_than_it_holds_is_damaged(tmp_path, block_type, excess):
    # The block holds 8 bytes of packet data; a captured length of 9-12 still fits the block's padding to 32 bits,
    # so only the exact comparison with what the block holds catches it.
    with pytest.raises(NotAPcap, match='says %d captured bytes but holds only 8' % (8 + excess)):
        inspect(write(tmp_path, one_packet_pcapng(block_type, 8 + excess)))
