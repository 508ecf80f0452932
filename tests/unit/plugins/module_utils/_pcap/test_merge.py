# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Merging the files of one capture: Wireshark's mergecap, editcap and capinfos (Debian package wireshark-common)
are the independent witnesses. The same inputs merged by mergecap hold the same packets in the same order with the
same times, lengths and link types as ours, and capinfos reads our file. These tests fail, never skip, when the tools
are missing: .ci/run installs them, and the runner's preflight names them."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import stat
import struct
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.merge import merge_captures
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import NotAPcap, read_records
from ansible_collections.cloudflare.pcap.tests.unit import pcap_samples as samples

EPOCH_NS = samples.EPOCH_NS
ETHERNET, RAW, SLL = samples.ETHERNET, samples.RAW, samples.SLL


# ---- inputs --------------------------------------------------------------------------------------------------

def frames(seed, count, link_type=ETHERNET):
    rng = random.Random(seed)
    return [samples.frame(rng, link_type) for _number in range(count)]


def interleaved_pcap(number, of, count=30, nanoseconds=False, order='<', link_type=ETHERNET, snaplen=samples.SNAPLEN):
    """File `number` of `of` files whose packets interleave and never share a time with another file's: file k
    has the microseconds k, k + 7 * of, k + 14 * of, ... (plus 1 ns in a nanosecond file, so that the digits below
    the microsecond count). Wireshark's mergecap orders equal times otherwise than we do (see
    test_equal_times_keep_the_order_of_the_inputs), so the witness gets none."""
    return samples.pcap_file(frames(number * 1000 + of, count, link_type), order, nanoseconds, link_type, snaplen,
                             start_ns=EPOCH_NS + number * 1000 + (1 if nanoseconds else 0), step_ns=7 * of * 1000)


def enhanced_packet(interface_number, ticks, data, order='<'):
    """An Enhanced Packet Block without options (pcap_samples' block puts its comment right after unpadded packet
    data, where Wireshark looks for the padding)."""
    return samples.block(6, struct.pack(order + 'IIIII', interface_number, ticks >> 32, ticks & 0xffffffff, len(data),
                                        len(data)) + data, order)


PCAPNG_SECTIONS = [
    ('<', [(ETHERNET, None, None), (RAW, 9, None)]),
    ('>', [(SLL, 7, None), (ETHERNET, 6, 100)]),
    # A clock of 2^-20 s: mergecap 4.0 writes such a packet's time back in that clock a tick short (it converts
    # to nanoseconds and back, rounding down twice), so only our own tests use it.
    ('<', [(SLL, 0x80 | 20, None)]),
]


def interleaved_pcapng(number, of, count=30, sections=(0,)):
    """pcapng sections (PCAPNG_SECTIONS: both byte orders, interfaces of different link types and clocks:
    microseconds, nanoseconds, 100 ns, 2^-20 s, an if_tsoffset), packets never at the time of another file's (as
    interleaved_pcap). mergecap 4.0 merges only files of one section ("interface 1 encap 7 != packet encap 1")."""
    rng = random.Random(number)
    parts = []
    moment = EPOCH_NS + number * 1000
    for order, interfaces in [PCAPNG_SECTIONS[index] for index in sections]:
        parts.append(samples.section(order))
        for link_type, tsresol, tsoffset in interfaces:
            parts.append(samples.interface(link_type, 0, tsresol, tsoffset, order))
        for _packet in range(count // len(sections)):
            interface_number = rng.randrange(len(interfaces))
            link_type, tsresol, tsoffset = interfaces[interface_number]
            moment += 7 * of * 1000
            # A finer clock gets a time between whole microseconds, within half of one of `moment`: no other file
            # has a packet there, and the file stays in time order.
            if tsresol in (None, 6):
                exact = moment
            else:
                exact = moment + (3 if tsresol == 9 else 500)
            ticks = samples.raw_timestamp(exact, tsresol, tsoffset)
            parts.append(enhanced_packet(interface_number, ticks, samples.frame(rng, link_type), order))
    return b''.join(parts)


def write_inputs(directory, contents):
    paths = []
    for number, data in enumerate(contents):
        path = os.path.join(str(directory), 'pcap_%d.%s' % (number, 'pcapng' if data[:4] == b'\x0a\x0d\x0d\x0a' else 'pcap'))
        with open(path, 'wb') as handle:
            handle.write(data)
        paths.append(path)
    return paths


def records_of(path):
    with open(path, 'rb') as handle:
        return list(read_records(handle)[1])


# ---- the witnesses -------------------------------------------------------------------------------------------

def wireshark(tool, *arguments):
    found = shutil.which(tool)
    assert found, ('%s is missing: the merge tests need Wireshark\'s command-line tools as witnesses '
                   '(apt-get install wireshark-common)' % tool)
    answer = subprocess.run([found] + list(arguments), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            check=False)
    assert answer.returncode == 0, '%s %s: %s' % (tool, ' '.join(arguments), answer.stderr)
    return answer.stdout


def capinfos(path):
    """capinfos' long report as {field: value}, with 'interfaces' the encapsulation of each interface and
    'per packet' {encapsulation: packets} for a file of several link types."""
    report = wireshark('capinfos', '-M', '-t', '-E', '-c', '-o', '-I', path)
    fields = {'interfaces': [], 'per packet': {}}
    in_use = False
    for line in report.splitlines():
        interface = re.match(r'^\s+Encapsulation = (.*) \(', line)
        packets_of_encapsulation = re.match(r'^\s+(\S.*) \((\d+)\)$', line)
        field = re.match(r'^(\S[^:]*):\s*(.*)$', line)
        if interface:
            fields['interfaces'].append(interface.group(1))
        elif in_use and packets_of_encapsulation:
            fields['per packet'][packets_of_encapsulation.group(1)] = int(packets_of_encapsulation.group(2))
        elif field:
            fields[field.group(1)] = field.group(2)
            in_use = field.group(1).startswith('Encapsulation in use by packets')
    return fields


def packets_as_wireshark_writes_them(path, directory):
    """The packet records of a file as editcap rewrites them into a nanosecond pcap: time, lengths and bytes of
    every packet in file order, in one canonical form whatever the file's format and clocks. Link types are told
    to be Ethernet, which only the label changes; the 24-byte file header is left out, as its snapshot length
    comes from the inputs."""
    canonical = os.path.join(str(directory), os.path.basename(path) + '.canonical')
    wireshark('editcap', '-F', 'nsecpcap', '-T', 'ether', path, canonical)
    with open(canonical, 'rb') as handle:
        return handle.read()[24:]


def assert_mergecap_agrees(paths, merged, directory):
    """mergecap -w on the same inputs: the same packets (times, lengths, bytes) in the same order, the same link
    types, each packet with its own; and capinfos reads our file, in time order."""
    theirs = os.path.join(str(directory), 'mergecap.pcapng')
    wireshark('mergecap', '-w', theirs, *paths)
    assert packets_as_wireshark_writes_them(merged['dest'], directory) == \
        packets_as_wireshark_writes_them(theirs, directory)
    ours_info, their_info = capinfos(merged['dest']), capinfos(theirs)
    assert ours_info['Number of packets'] == their_info['Number of packets'] == str(merged['packets'])
    assert ours_info['File encapsulation'] == their_info['File encapsulation']
    assert ours_info['per packet'] == their_info['per packet']
    assert sorted(set(ours_info['interfaces'])) == sorted(set(their_info['interfaces']))
    assert len(ours_info['interfaces']) == len(merged['link_types'])
    assert ours_info['Strict time order'] == 'True'
    assert [(record[0], record[4]) for record in records_of(merged['dest'])] == \
        [(record[0], record[4]) for record in records_of(theirs)]
    return ours_info


# ---- the same merge as mergecap's ----------------------------------------------------------------------------

def one_pcap(_directory):
    return [interleaved_pcap(0, 1)]


def pcaps_of_microseconds(_directory):
    return [interleaved_pcap(number, 5, order='<>'[number % 2]) for number in range(5)]


def microseconds_and_nanoseconds(_directory):
    return [interleaved_pcap(0, 3), interleaved_pcap(1, 3, nanoseconds=True, order='>'), interleaved_pcap(2, 3)]


def two_link_types(_directory):
    return [interleaved_pcap(0, 2), interleaved_pcap(1, 2, link_type=RAW)]


def pcapng_and_pcap(_directory):
    return [interleaved_pcapng(0, 3), interleaved_pcap(1, 3, link_type=SLL), interleaved_pcapng(2, 3, sections=(1,))]


def pcapng_of_one_link_type(_directory):
    section = samples.section() + samples.interface(ETHERNET, 0)
    rng = random.Random(5)
    return [section + b''.join(enhanced_packet(0, (EPOCH_NS // 1000) + 7 * 2 * tick + number,
                                               samples.frame(rng, ETHERNET)) for tick in range(20))
            for number in range(2)]


def files_without_packets(_directory):
    return [samples.pcap_file([]), samples.pcap_file([], nanoseconds=True)]


@pytest.mark.parametrize('inputs, file_format, file_type, timestamps', [
    (one_pcap, 'pcap', 'pcap', 'microseconds'),
    (pcaps_of_microseconds, 'pcap', 'pcap', 'microseconds'),
    (microseconds_and_nanoseconds, 'pcap', 'nsecpcap', 'nanoseconds'),
    (two_link_types, 'pcapng', 'pcapng', 'microseconds'),
    (pcapng_and_pcap, 'pcapng', 'pcapng', 'nanoseconds'),
    (pcapng_of_one_link_type, 'pcap', 'pcap', 'microseconds'),
    (files_without_packets, 'pcap', 'nsecpcap', 'nanoseconds'),
])
def test_the_merge_equals_mergecaps(tmp_path, inputs, file_format, file_type, timestamps):
    paths = write_inputs(tmp_path, inputs(tmp_path))
    merged = merge_captures(paths, str(tmp_path / 'merged'))
    info = assert_mergecap_agrees(paths, merged, tmp_path)
    assert (merged['format'], merged['timestamps'], info['File type']) == (file_format, timestamps, file_type)
    expected = sum(len(records_of(path)) for path in paths)
    assert merged['packets'] == expected and merged['empty'] == (expected == 0) and merged['inputs'] == len(paths)
    if file_format == 'pcapng':
        assert info['File encapsulation'] == 'per-packet'


def test_the_files_of_a_full_capture_merge_as_mergecap_merges_them(tmp_path):
    # Cloudflare's case: several libpcap files of full-size Ethernet packets, one per server.
    contents = []
    for number in range(4):
        rng = random.Random(number)
        packets = [samples.ethernet(samples.ipv4('192.0.2.1', '198.51.100.7', 6, samples.tcp(
            40000 + number, 443, bytes(rng.getrandbits(8) for _byte in range(1460))))) for _packet in range(50)]
        contents.append(samples.pcap_file(packets, snaplen=65535, start_ns=EPOCH_NS + number * 1000,
                                          step_ns=4 * 1000 * rng.choice((1, 3, 11))))
    paths = write_inputs(tmp_path, contents)
    merged = merge_captures(paths, str(tmp_path / 'merged.pcap'))
    assert_mergecap_agrees(paths, merged, tmp_path)
    assert {len(record[4]) for record in records_of(merged['dest'])} == {1514}


def test_no_inputs_give_a_capture_without_packets_that_capinfos_reads(tmp_path):
    merged = merge_captures([], str(tmp_path / 'merged'))
    assert merged['packets'] == 0 and merged['empty'] and merged['link_types'] == [] and merged['inputs'] == 0
    # Without a link type only pcapng can be honest: a libpcap header would have to claim one.
    info = capinfos(merged['dest'])
    assert (merged['format'], info['File type'], info['Number of packets']) == ('pcapng', 'pcapng', '0')


# ---- what our merge promises beyond the witness --------------------------------------------------------------

def pcap_with(times_and_data, nanoseconds=False, link_type=ETHERNET, order='<'):
    """A libpcap file with these (time in ns, packet bytes) records, in this order."""
    parts = [struct.pack(order + 'IHHiIII', 0xa1b23c4d if nanoseconds else 0xa1b2c3d4, 2, 4, 0, 0, 65535, link_type)]
    for moment, data in times_and_data:
        seconds, rest = divmod(moment, 10 ** 9)
        parts.append(struct.pack(order + 'IIII', seconds, rest if nanoseconds else rest // 1000, len(data), len(data)))
        parts.append(data)
    return b''.join(parts)


def test_equal_times_keep_the_order_of_the_inputs(tmp_path):
    # mergecap 4.0 takes the last of several files at the same time first; ours keeps the order of the list, which
    # is the order a sorted listing of the bucket gives.
    paths = write_inputs(tmp_path, [pcap_with([(EPOCH_NS, b'a1'), (EPOCH_NS, b'a2'), (EPOCH_NS + 1000, b'a3')]),
                                    pcap_with([(EPOCH_NS, b'b1'), (EPOCH_NS + 1000, b'b2')])])
    merged = merge_captures(paths, str(tmp_path / 'merged'))
    assert [record[4] for record in records_of(merged['dest'])] == [b'a1', b'a2', b'b1', b'a3', b'b2']


def test_a_file_out_of_order_keeps_its_order(tmp_path):
    paths = write_inputs(tmp_path, [pcap_with([(EPOCH_NS + 3000, b'a1'), (EPOCH_NS + 1000, b'a2')]),
                                    pcap_with([(EPOCH_NS + 2000, b'b1')])])
    merged = merge_captures(paths, str(tmp_path / 'merged'))
    assert [record[4] for record in records_of(merged['dest'])] == [b'b1', b'a1', b'a2']


def test_pcapng_files_of_several_sections_merge_into_the_sorted_union_of_their_records(tmp_path):
    paths = write_inputs(tmp_path, [interleaved_pcapng(0, 3, sections=(0, 1, 2)), interleaved_pcap(1, 3),
                                    interleaved_pcapng(2, 3, sections=(2, 1, 0))])
    merged = merge_captures(paths, str(tmp_path / 'merged'))
    assert (merged['format'], merged['timestamps'], merged['link_types']) == ('pcapng', 'nanoseconds', [ETHERNET, RAW, SLL])
    every_record = [record for path in paths for record in records_of(path)]
    assert records_of(merged['dest']) == sorted(every_record, key=lambda record: record[1])
    info = capinfos(merged['dest'])
    assert info['Number of packets'] == str(len(every_record)) and info['Strict time order'] == 'True'


def test_a_packet_without_a_time_stays_after_the_packet_before_it(tmp_path):
    # Simple Packet Blocks carry no time: one at the start of a file comes first, with time 0; one later takes the
    # time of the record before it in its file.
    pcapng = (samples.section() + samples.interface(ETHERNET, 0) + samples.simple_packet(b'first', 0) +
              enhanced_packet(0, EPOCH_NS // 1000 + 3, b'timed') + samples.simple_packet(b'after', 0) +
              enhanced_packet(0, EPOCH_NS // 1000 + 9, b'later'))
    paths = write_inputs(tmp_path, [pcapng, pcap_with([(EPOCH_NS + 5000, b'other'), (EPOCH_NS + 3000, b'same')])])
    merged = merge_captures(paths, str(tmp_path / 'merged'))
    assert merged['format'] == 'pcap'
    assert [(record[1], record[4]) for record in records_of(merged['dest'])] == [
        (0, b'first'), (EPOCH_NS + 3000, b'timed'), (EPOCH_NS + 3000, b'after'), (EPOCH_NS + 5000, b'other'),
        (EPOCH_NS + 3000, b'same'), (EPOCH_NS + 9000, b'later')]


def test_what_the_merge_hands_on_is_what_the_merged_file_holds_and_each_input_is_counted(tmp_path):
    # One pass: whatever reads the records as they are written (the summary) sees the merged file's records, a
    # packet without a time with the time it is written with, and the merge counts each input's packets.
    pcapng = (samples.section() + samples.interface(ETHERNET, 0) + samples.simple_packet(b'first', 0) +
              enhanced_packet(0, EPOCH_NS // 1000 + 3, b'timed') + samples.simple_packet(b'after', 0))
    for contents in ([pcapng, pcap_with([(EPOCH_NS + 5000, b'other'), (EPOCH_NS + 3000, b'same')])],
                     [interleaved_pcapng(0, 3, sections=(0, 1)), interleaved_pcap(1, 4)]):
        paths = write_inputs(tmp_path, contents)
        merged = merge_captures(paths, str(tmp_path / 'merged'), consume=list)
        assert merged['consumed'] == records_of(merged['dest'])
        assert merged['input_files'] == [dict(format=file_format, packets=len(records_of(path)))
                                         for file_format, path in zip(('pcapng', 'pcap'), paths)]


def test_the_file_is_written_with_its_mode_and_its_checksum(tmp_path):
    paths = write_inputs(tmp_path, [interleaved_pcap(0, 2), interleaved_pcap(1, 2, nanoseconds=True)])
    dest = str(tmp_path / 'merged.pcap')
    merged = merge_captures(paths, dest)
    with open(dest, 'rb') as handle:
        data = handle.read()
    assert merged['checksum'] == hashlib.sha256(data).hexdigest() and merged['size'] == len(data)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert merged['dest'] == dest and merged['link_types'] == [ETHERNET] and merged['packets'] == 60
    merge_captures(paths, dest, mode=0o640)
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640


@pytest.mark.parametrize('damage, message', [
    (lambda data: data[:-5], r'pcap_1\.pcap: packet 30 is truncated'),
    (lambda data: b'<html>502</html>', r'pcap_1\.pcap: the file starts with 0x'),
    (lambda data: b'', r'pcap_1\.pcap: the file is 0 bytes long'),
])
def test_a_damaged_input_is_named_and_dest_is_left_as_it_was(tmp_path, damage, message):
    paths = write_inputs(tmp_path, [interleaved_pcap(0, 2), damage(interleaved_pcap(1, 2))])
    dest = tmp_path / 'merged.pcap'
    dest.write_bytes(b'before')
    with pytest.raises(NotAPcap, match=message):
        merge_captures(paths, str(dest))
    assert dest.read_bytes() == b'before'
    assert sorted(os.listdir(str(tmp_path))) == ['merged.pcap', 'pcap_0.pcap', 'pcap_1.pcap']


def test_a_time_that_a_pcap_cannot_hold_is_named(tmp_path):
    # An if_tsoffset can put a packet before 1970, which no capture file can hold.
    pcapng = samples.section() + samples.interface(ETHERNET, 0, tsoffset=-10) + enhanced_packet(0, 5, b'early')
    paths = write_inputs(tmp_path, [pcapng])
    with pytest.raises(NotAPcap, match=r'pcap_0\.pcapng: packet 1 has the time -9999995000 ns since the epoch'):
        merge_captures(paths, str(tmp_path / 'merged'))
    assert os.listdir(str(tmp_path)) == ['pcap_0.pcapng']


# ---- properties ----------------------------------------------------------------------------------------------

capture_files = st.lists(st.tuples(
    st.sampled_from([ETHERNET, RAW]),
    st.booleans(),  # nanoseconds
    st.sampled_from('<>'),
    st.lists(st.tuples(st.integers(min_value=0, max_value=50), st.binary(max_size=40)), max_size=12),
), max_size=5)


@pytest.fixture
def no_disk_flush(monkeypatch):
    """Hundreds of merges: flushing each to the disk is what makes them slow, and not what these tests check."""
    monkeypatch.setattr(os, 'fsync', lambda descriptor: None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=capture_files)
def test_the_merge_is_the_sorted_union_of_the_records(no_disk_flush, files):
    contents = []
    expected = []
    for link_type, nanoseconds, order, records in files:
        # Each file in time order, as a capture is; a time in microseconds for a file that counts them.
        times = sorted(EPOCH_NS + step * (997 if nanoseconds else 1000) for step, _data in records)
        records = [(moment, data) for moment, (_step, data) in zip(times, records)]
        contents.append(pcap_with(records, nanoseconds, link_type, order))
        expected.extend((moment, link_type, data) for moment, data in records)
    with tempfile.TemporaryDirectory() as directory:
        merged = merge_captures(write_inputs(directory, contents), os.path.join(directory, 'merged'))
        found = [(record[1], record[0], record[4]) for record in records_of(merged['dest'])]
    # sorted() is stable: equal times stay in the order of the files, as the merge promises.
    assert found == sorted(expected, key=lambda record: record[0])
    link_types = list(dict.fromkeys(link_type for link_type, _ns, _order, _records in files))
    assert merged['link_types'] == link_types
    assert merged['format'] == ('pcap' if len(link_types) == 1 else 'pcapng')
    assert merged['timestamps'] == ('nanoseconds' if any(ns for _lt, ns, _order, _records in files) else 'microseconds')


VALID_INPUTS = [interleaved_pcap(0, 2, count=3), interleaved_pcapng(1, 2, count=4),
                samples.pcapng_file(random.Random(3), [('>', [(RAW, 9, None, 0)]), ('<', [(ETHERNET, None, 5, 64)])],
                                    packets_per_section=3, simple_packets=True, old_packets=True)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(original=st.sampled_from(VALID_INPUTS), changed_bytes=st.dictionaries(
    st.integers(min_value=0), st.integers(min_value=0, max_value=255), min_size=1, max_size=5),
    kept=st.one_of(st.none(), st.integers(min_value=0)))
def test_damaged_inputs_give_a_merge_of_what_the_reader_reads_or_not_a_pcap(
        no_disk_flush, tmp_path, original, changed_bytes, kept):
    # Bytes changed (lengths, link types, clocks, magic numbers) and the file cut short, anywhere.
    data = bytearray(original)
    for where, value in changed_bytes.items():
        data[where % len(data)] = value
    if kept is not None:
        del data[kept % len(data):]
    paths = write_inputs(tmp_path, [bytes(data), VALID_INPUTS[0]])
    dest = str(tmp_path / 'merged')
    try:
        merged = merge_captures(paths, dest)
    except NotAPcap as exc:
        assert str(exc).startswith(paths[0] + ': ')
        return
    assert sorted(record[4] for record in records_of(dest)) == \
        sorted(record[4] for path in paths for record in records_of(path))
    assert merged['packets'] == len(records_of(dest))
