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
