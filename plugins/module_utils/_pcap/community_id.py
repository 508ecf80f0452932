# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Community ID v1 of a flow (https://github.com/corelight/community-id-spec), the flow hash Zeek, Suricata, Arkime,
Elastic and Wireshark log, so that a flow of a summary can be looked up in a SIEM. Pure: no I/O, standard library
only. Private to cloudflare.pcap.

The hash is SHA-1 over: seed (2 bytes), the lower endpoint's address, the other address, the protocol (1 byte), a
zero byte, then for TCP, UDP, SCTP, ICMP and ICMPv6 the two 2-byte "ports", all in network byte order; the result
is "1:" and the digest in base64. Endpoints are ordered so that both directions of a flow get the same ID: the lower
address first, the ports deciding when the addresses are equal. ICMP has no ports: its type and code stand in for
them as Zeek maps them (a request and its reply share an ID; a message without a counterpart, such as an error, is
one-way: type and code as they are, never reordered). Other protocols hash the addresses and protocol alone.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import ipaddress
import struct

ICMP = 1
TCP = 6
UDP = 17
ICMPV6 = 58
SCTP = 132
PORT_PROTOCOLS = frozenset((TCP, UDP, SCTP))

# Request type <-> reply type; a type in neither table is one-way (Zeek's ICMP analyzer, the spec's reference).
ICMP_COUNTERPARTS = {
    8: 0, 0: 8,        # echo request / reply
    13: 14, 14: 13,    # timestamp request / reply
    15: 16, 16: 15,    # information request / reply
    10: 9, 9: 10,      # router solicitation / advertisement
    17: 18, 18: 17,    # address mask request / reply
}
ICMPV6_COUNTERPARTS = {
    128: 129, 129: 128,  # echo request / reply
    130: 131, 131: 130,  # multicast listener query / report
    133: 134, 134: 133,  # router solicitation / advertisement
    135: 136, 136: 135,  # neighbour solicitation / advertisement
    139: 140, 140: 139,  # node information query / response
    144: 145, 145: 144,  # home agent address discovery request / reply
}
_PORTS = struct.Struct('!HH').pack


def community_id(protocol, source, destination, source_port=None, destination_port=None, seed=0):
    """The Community ID v1 of a flow, as 1:<base64 SHA-1>.

    source and destination are IPv4 or IPv6 addresses (text, packed bytes or ipaddress objects, both of one
    version). For TCP, UDP and SCTP the ports are needed; for ICMP and ICMPv6 source_port is the type and
    destination_port the code; for any other protocol the ports are ignored. Raises ValueError on an impossible
    input (mixed versions, a port protocol without ports, numbers out of range).
    """
    source, destination = _packed(source), _packed(destination)
    if len(source) != len(destination):
        raise ValueError('the source and destination addresses are of different IP versions')
    if not 0 <= protocol <= 255:
        raise ValueError('protocol must be 0 to 255, got %r' % (protocol,))
    if not 0 <= seed <= 0xffff:
        raise ValueError('seed must be 0 to 65535, got %r' % (seed,))
    ports = None
    one_way = False
    if protocol in PORT_PROTOCOLS or protocol in (ICMP, ICMPV6):
        if source_port is None or destination_port is None:
            raise ValueError('protocol %d needs both ports (ICMP: type and code)' % protocol)
        for value in (source_port, destination_port):
            if not 0 <= value <= 0xffff:
                raise ValueError('a port must be 0 to 65535, got %r' % (value,))
        ports = (source_port, destination_port)
        if protocol in (ICMP, ICMPV6):
            ports, one_way = _icmp_ports(protocol, source_port, destination_port)
    if not one_way and _swap(source, destination, ports):
        source, destination = destination, source
        if ports is not None:
            ports = (ports[1], ports[0])
    data = struct.pack('!H', seed) + source + destination + struct.pack('!BB', protocol, 0)
    if ports is not None:
        data += _PORTS(*ports)
    return '1:' + base64.b64encode(hashlib.sha1(data).digest()).decode('ascii')


def _icmp_ports(protocol, icmp_type, code):
    """The (source, destination) port pair and one-way flag that stand for an ICMP type and code."""
    counterparts = ICMP_COUNTERPARTS if protocol == ICMP else ICMPV6_COUNTERPARTS
    if icmp_type in counterparts:
        return (icmp_type, counterparts[icmp_type]), False
    return (icmp_type, code), True


def _swap(source, destination, ports):
    """Whether the endpoints are in the wrong order: the lower address first, then the lower port."""
    if source != destination:
        return source > destination
    return ports is not None and ports[0] > ports[1]


def _packed(address):
    if isinstance(address, (bytes, bytearray)):
        if len(address) not in (4, 16):
            raise ValueError('a packed address is 4 or 16 bytes, got %d' % len(address))
        return bytes(address)
    return ipaddress.ip_address(address).packed
