# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What is in a capture file at a glance: packets, bytes, time span, the busiest flows, protocols and addresses.
Private to cloudflare.pcap.

The records come from reader.py; this module reads the link-layer, IP and transport headers itself, with no
third-party library, for the reasons given there (a dependency on every host that runs a module; dpkt's last
release was in 2022; scapy is GPL-2.0-only and slow to import). It reads only the few header fields a summary
needs, and from whatever part of a packet was captured: Cloudflare keeps the first 160 bytes of each sampled
packet, so most packets are truncated, but their headers are there.

- Link types: Ethernet (1) with any number of 802.1Q / 802.1ad / QinQ tags, raw IP (101, and 12 and 14 as
  some systems number it), IPv4 (228), IPv6 (229), Linux cooked capture SLL (113) and SLL2 (276).
- IPv4 with options (the header length field) and fragments: only a first fragment carries the ports.
- IPv6: hop-by-hop, routing, fragment, destination options, authentication, mobility, HIP and shim6 extension
  headers are skipped to reach the transport; the protocol of a flow is the first header that is not one of them.
- Ports of TCP, UDP, DCCP, SCTP and UDP-Lite, when the first 4 bytes of their header are in the packet and in
  the IP packet's own length; other protocols (ICMP, ICMPv6, ESP, GRE, ...) have none.

A packet whose IP addresses are not in what was captured, or that is not IP, or whose interface has a link type
not listed above, is counted (packets, bytes, times) but is in no flow: `undecoded_packets` says how many.
A flow's `bytes` are the packets' original (wire) lengths, link-layer header included.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import datetime
import gc
import heapq
import ipaddress
import operator
import struct

from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.community_id import ICMP, ICMPV6, community_id
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.community_id import PORT_PROTOCOLS as COMMUNITY_ID_PORT_PROTOCOLS
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import NANOSECONDS, NotAPcap, read_records

DEFAULT_TOP = 10
LINKTYPE_ETHERNET = 1
LINKTYPE_SLL = 113
LINKTYPE_SLL2 = 276
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPES_RAW = frozenset((101, 12, 14))
SUPPORTED_LINK_TYPES = frozenset((LINKTYPE_ETHERNET, LINKTYPE_SLL, LINKTYPE_SLL2, LINKTYPE_IPV4, LINKTYPE_IPV6)) | \
    LINKTYPES_RAW
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86dd
VLAN_ETHERTYPES = frozenset((0x8100, 0x88a8, 0x9100, 0x9200))
# Transport protocols whose header starts with the source and destination port.
PORT_PROTOCOLS = frozenset((6, 17, 33, 132, 136))
# IPv6 extension headers skipped on the way to the transport: hop-by-hop, routing, fragment, destination options,
# authentication (whose length counts 4-byte units), mobility, HIP, shim6.
IPV6_FRAGMENT = 44
IPV6_AUTHENTICATION = 51
IPV6_EXTENSIONS = frozenset((0, 43, IPV6_FRAGMENT, 60, IPV6_AUTHENTICATION, 135, 139, 140))
_PORTS = struct.Struct('!HH').unpack_from
# IPv4 header: version and header length, total length, flags and fragment offset, protocol, source, destination.
_IPV4_HEADER = struct.Struct('!BxHxxHxB2x4s4s').unpack_from
_SHORT = struct.Struct('!H').unpack_from


def summarise_file(path, top=DEFAULT_TOP):
    """(format, summary) of a pcap or pcapng file; raise NotAPcap when it is neither or is damaged."""
    with open(path, 'rb') as handle:
        file_format, records = read_records(handle)
        return file_format, summarise(records, top)


def summarise(records, top=DEFAULT_TOP):
    """The summary of (link_type, timestamp_ns, captured, original, data) records, with the `top` busiest flows
    and addresses."""
    return summary_of(tally(records), top)


def summary_of(tallied, top=DEFAULT_TOP):
    """The summary from what tally() counted, with the `top` busiest flows and addresses."""
    with _no_cycle_collection():
        return _shape(*tallied, top=top)


@contextlib.contextmanager
def _no_cycle_collection():
    """Python's cycle collector off for a while: a tally makes a few objects a flow and frees none, and the collector
    would walk them all again and again (a tenth of a summary's time with a flow a packet). Nothing made here has
    cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def tally(records):
    """Count (link_type, timestamp_ns, captured, original, data) records by flow, in one pass that keeps nothing of a
    packet: what summary_of() needs, so that a merge can count what it writes (merge.py) and shape it afterwards."""
    with _no_cycle_collection():
        return _tally(records)


def _tally(records):
    packets = captured_bytes = wire_bytes = truncated = undecoded = 0
    first = last = None
    flows = {}
    unsupported = {}
    for link_type, timestamp, captured, original, data in records:
        packets += 1
        captured_bytes += captured
        wire_bytes += original
        if captured < original:
            truncated += 1
        if timestamp is not None:
            if first is None:
                first = last = timestamp
            elif timestamp < first:
                first = timestamp
            elif timestamp > last:
                last = timestamp
        if link_type == LINKTYPE_ETHERNET and data[12:14] == b'\x08\x00':
            found = _ipv4(data, 14)  # the most common case without the dispatch of _flow_key
        else:
            found = _flow_key(link_type, data)
        if found is None:
            undecoded += 1
            if link_type not in SUPPORTED_LINK_TYPES:
                unsupported[link_type] = unsupported.get(link_type, 0) + 1
            continue
        key, icmp_type_code = found[:5], found[5]
        counts = flows.get(key)
        if counts is None:
            counts = flows[key] = [0, 0, None]  # ICMP types and codes: a table only for a flow that has them
        counts[0] += 1
        counts[1] += original
        if icmp_type_code is not None:
            if counts[2] is None:
                counts[2] = {}
            counts[2][icmp_type_code] = counts[2].get(icmp_type_code, 0) + 1
    return packets, captured_bytes, wire_bytes, truncated, undecoded, first, last, flows, unsupported


def _flow_key(link_type, data):
    """(source, destination, protocol, source port, destination port) of a packet, addresses as packed bytes and
    ports None when there are none; None when the packet's IP addresses cannot be read."""
    if link_type == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        ethertype = data[12] << 8 | data[13]
        offset = 14
    elif link_type == LINKTYPE_SLL:
        if len(data) < 16:
            return None
        ethertype = data[14] << 8 | data[15]
        offset = 16
    elif link_type == LINKTYPE_SLL2:
        if len(data) < 20:
            return None
        ethertype = data[0] << 8 | data[1]
        offset = 20
    elif link_type in LINKTYPES_RAW or link_type == LINKTYPE_IPV4 or link_type == LINKTYPE_IPV6:
        if not data:
            return None
        version = data[0] >> 4
        if version == 4 and link_type != LINKTYPE_IPV6:
            return _ipv4(data, 0)
        if version == 6 and link_type != LINKTYPE_IPV4:
            return _ipv6(data, 0)
        return None
    else:
        return None
    while ethertype in VLAN_ETHERTYPES:
        if len(data) < offset + 4:
            return None
        ethertype = data[offset + 2] << 8 | data[offset + 3]
        offset += 4
    if ethertype == ETHERTYPE_IPV4:
        return _ipv4(data, offset)
    if ethertype == ETHERTYPE_IPV6:
        return _ipv6(data, offset)
    return None


def _icmp(data, position, end, protocol):
    """(type, code) of an ICMP or ICMPv6 message when its first two bytes are there, for its Community ID."""
    if protocol in (ICMP, ICMPV6) and position + 2 <= end and position + 2 <= len(data):
        return data[position], data[position + 1]
    return None


def _ipv4(data, offset):
    if len(data) < offset + 20:
        return None
    # One unpack for the fields a flow needs: the most expensive step of a summary, done once a packet.
    version_length, total_length, fragment, protocol, source, destination = _IPV4_HEADER(data, offset)
    if version_length >> 4 != 4 or version_length & 0x0f < 5:
        return None
    # Fragment offset 0: an unfragmented packet or the first fragment, the only one with the transport header.
    if fragment & 0x1fff:
        return source, destination, protocol, None, None, None
    transport = offset + (version_length & 0x0f) * 4
    # The IP packet's own length bounds its transport header: Ethernet pads short frames.
    end = offset + total_length if total_length else len(data)
    if protocol in PORT_PROTOCOLS:
        if transport + 4 <= end and transport + 4 <= len(data):
            source_port, destination_port = _PORTS(data, transport)
            return source, destination, protocol, source_port, destination_port, None
    elif protocol == ICMP:
        return source, destination, protocol, None, None, _icmp(data, transport, end, protocol)
    return source, destination, protocol, None, None, None


def _ipv6(data, offset):
    if len(data) < offset + 40 or data[offset] >> 4 != 6:
        return None
    payload_length = data[offset + 4] << 8 | data[offset + 5]
    protocol = data[offset + 6]
    source = data[offset + 8:offset + 24]
    destination = data[offset + 24:offset + 40]
    position = offset + 40
    end = min(position + payload_length, len(data)) if payload_length else len(data)
    first_fragment = True
    while protocol in IPV6_EXTENSIONS:
        if position + 8 > end:
            # Cut off inside the extension headers: the last header reached is all that is known.
            return source, destination, protocol, None, None, None
        if protocol == IPV6_FRAGMENT:
            first_fragment = first_fragment and not _SHORT(data, position + 2)[0] & 0xfff8
            length = 8
        elif protocol == IPV6_AUTHENTICATION:
            length = (data[position + 1] + 2) * 4
        else:
            length = (data[position + 1] + 1) * 8
        protocol = data[position]
        position += length
    if first_fragment and protocol in PORT_PROTOCOLS and position + 4 <= end:
        source_port, destination_port = _PORTS(data, position)
        return source, destination, protocol, source_port, destination_port, None
    return source, destination, protocol, None, None, _icmp(data, position, end, protocol) if first_fragment else None


def _shape(packets, captured_bytes, wire_bytes, truncated, undecoded, first, last, flows, unsupported, top):
    protocols = {}
    sources = {}
    destinations = {}
    for (source, destination, protocol, _source_port, _destination_port), counts in flows.items():
        flow_packets, flow_bytes = counts[0], counts[1]
        _add(protocols, protocol, flow_packets, flow_bytes)
        _add(sources, source, flow_packets, flow_bytes)
        _add(destinations, destination, flow_packets, flow_bytes)
    busiest = _first_ranked(flows, top, _busiest_flow)
    summary = dict(
        packets=packets,
        captured_bytes=captured_bytes,
        wire_bytes=wire_bytes,
        truncated_packets=truncated,
        undecoded_packets=undecoded,
        first_packet=_rfc3339(first, 'first'),
        last_packet=_rfc3339(last, 'last'),
        duration=None if first is None else round((last - first) / NANOSECONDS, 6),
        flow_count=len(flows),
        flows=[_flow(key, counts) for key, counts in busiest],
        protocols=[dict(protocol=protocol, packets=counts[0], bytes=counts[1])
                   for protocol, counts in sorted(protocols.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))],
        sources=_top_addresses(sources, top),
        destinations=_top_addresses(destinations, top),
        unsupported_link_types=[dict(link_type=link_type, packets=count) for link_type, count in sorted(unsupported.items())],
    )
    return summary


def summary_warnings(summary):
    """What a user should know about a summary: packets of link types it does not decode; a capture without packets."""
    warnings = ['%d packets have link type %d, which the summary does not decode: they are counted, in no flow'
                % (entry['packets'], entry['link_type']) for entry in summary['unsupported_link_types']]
    if summary.get('empty_reasons'):
        warnings.append('The capture holds no packets. Possible reasons: %s' % '; '.join(summary['empty_reasons']))
    return warnings


# Why a finished capture can hold no packet, as Cloudflare documents it (collect-pcaps; PR #29160 for drops) and as
# its sampling and filters imply.
EMPTY_CAPTURE_REASONS = (
    'packets were dropped: Cloudflare documents that a capture "might be empty because packets were dropped"',
    'a sampled (simple) capture only covers traffic that passed while it ran, a sample of it',
    'the filter (filter_v1) matched no traffic in the capture\'s time',
)


def with_empty_reasons(summary):
    """The summary, with empty_reasons (the documented reasons) when it counts no packet, so that an empty capture
    is said to be empty, never only an empty table."""
    if summary['packets'] == 0:
        summary['empty_reasons'] = list(EMPTY_CAPTURE_REASONS)
    return summary


def _add(table, key, packets, size):
    total = table.get(key)
    if total is None:
        table[key] = [packets, size]
    else:
        total[0] += packets
        total[1] += size


_PACKETS_AND_BYTES = operator.itemgetter(0, 1)


def _first_ranked(table, top, rank):
    """The first `top` (key, counts) items of a table in the order of rank, whose first criteria are most packets,
    then most bytes. Only the items whose (packets, bytes) reach the top-th largest can be among them, so only those
    are sorted: a capture of random traffic has about one flow a packet, and sorting them all took most of the
    summary's time."""
    if top == 0:
        return []
    candidates = table.items()
    if top is not None and len(table) > top:
        cutoff = _PACKETS_AND_BYTES(heapq.nlargest(top, table.values(), key=_PACKETS_AND_BYTES)[-1])
        candidates = [item for item in candidates if _PACKETS_AND_BYTES(item[1]) >= cutoff]
    return sorted(candidates, key=rank)[:top]


def _busiest_flow(item):
    (source, destination, protocol, source_port, destination_port), (packets, size, _icmp_types) = item
    # Most packets first, then most bytes; ties in a fixed order, so the same file always gives the same list.
    return (-packets, -size, len(source), source, destination, protocol, -1 if source_port is None else source_port,
            -1 if destination_port is None else destination_port)


def _flow(key, counts):
    source, destination, protocol, source_port, destination_port = key
    filter_v1 = dict(source_address=_address(source), destination_address=_address(destination))
    if source_port is not None:
        filter_v1.update(source_port=source_port, destination_port=destination_port)
    filter_v1['protocol'] = protocol
    flow = dict(filter_v1, packets=counts[0], bytes=counts[1])
    flow['filter_v1'] = filter_v1
    flow['community_id'] = _community_id(key, counts[2])
    return flow


def _community_id(key, icmp_types):
    """The flow's Community ID v1; for ICMP, that of its most frequent type and code. None when what it needs is not
    in the packets: the ports of TCP, UDP or SCTP (later fragments only), or any ICMP type and code."""
    source, destination, protocol, source_port, destination_port = key
    if protocol in (ICMP, ICMPV6):
        if not icmp_types:
            return None
        source_port, destination_port = sorted(icmp_types.items(), key=lambda item: (-item[1], item[0]))[0][0]
    elif protocol in COMMUNITY_ID_PORT_PROTOCOLS and source_port is None:
        return None
    return community_id(protocol, source, destination, source_port, destination_port)


def _top_addresses(table, top):
    ranked = _first_ranked(table, top, lambda item: (-item[1][0], -item[1][1], len(item[0]), item[0]))
    return [dict(address=_address(address), packets=counts[0], bytes=counts[1]) for address, counts in ranked]


def _address(packed):
    return str(ipaddress.ip_address(bytes(packed)))


def _rfc3339(nanoseconds, which):
    """A timestamp in nanoseconds since the epoch as RFC 3339 UTC, to the microsecond."""
    if nanoseconds is None:
        return None
    seconds, rest = divmod(nanoseconds, NANOSECONDS)
    try:
        moment = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds, microseconds=rest // 1000)
    except OverflowError:
        raise NotAPcap('the %s packet has a timestamp of %d seconds since 1970, outside the years 1 to 9999'
                       % (which, seconds))
    return '%04d-%02d-%02dT%02d:%02d:%02d.%06dZ' % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond)
