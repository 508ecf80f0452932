# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a libpcap file whose packets match a capture's filter_v1.

Fields the filter leaves open are pseudo-random but deterministic: the generator is seeded with the capture id,
so downloading the same capture twice gives the same bytes.
"""

import ipaddress
import random
import struct

PCAP_MAGIC = 0xa1b2c3d4
PCAP_VERSION = (2, 4)
PCAP_SNAPLEN = 65535
# Payload sizes: up to this many bytes, so most frames are longer than a 160-byte sample and truncation is real.
MAX_PAYLOAD = 1400
LINKTYPE_ETHERNET = 1

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86dd
# Locally administered MAC addresses, so no real vendor is implied.
SOURCE_MAC = bytes.fromhex('020000000001')
DESTINATION_MAC = bytes.fromhex('020000000002')

# Documentation ranges (RFC 5737, RFC 3849): random addresses never point at anybody's real host.
_IPV4_POOLS = (ipaddress.ip_network('192.0.2.0/24'), ipaddress.ip_network('198.51.100.0/24'),
               ipaddress.ip_network('203.0.113.0/24'))
_IPV6_POOL = ipaddress.ip_network('2001:db8::/32')
_WELL_KNOWN_PORTS = (22, 53, 80, 123, 443, 8080)


def checksum16(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b'\x00'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    # Two folds are enough: the sum of at most 32768 16-bit words fits in 31 bits.
    total = (total >> 16) + (total & 0xffff)
    total = (total >> 16) + (total & 0xffff)
    return ~total & 0xffff


class PacketFactory:
    """Make Ethernet frames that satisfy one filter_v1."""

    def __init__(self, seed, filter_v1):
        self.random = random.Random(seed)
        self.filter = dict(filter_v1 or {})
        self.source = _parse_address(self.filter.get('source_address'))
        self.destination = _parse_address(self.filter.get('destination_address'))
        given = self.source or self.destination
        self.version = given.version if given is not None else 4

    def frame(self):
        protocol = self._protocol()
        source = self.source or self._random_address()
        destination = self.destination or self._random_address()
        size = self.random.randint(0, MAX_PAYLOAD)
        payload = self.random.getrandbits(8 * size).to_bytes(size, 'little') if size else b''
        if protocol == PROTO_TCP:
            segment = self._tcp(source, destination, payload)
        elif protocol == PROTO_UDP:
            segment = self._udp(source, destination, payload)
        elif protocol == PROTO_ICMP:
            segment = self._icmp(payload)
        else:
            segment = payload
        if self.version == 4:
            packet = self._ipv4(source, destination, protocol, segment)
            ethertype = ETHERTYPE_IPV4
        else:
            packet = self._ipv6(source, destination, protocol, segment)
            ethertype = ETHERTYPE_IPV6
        return DESTINATION_MAC + SOURCE_MAC + struct.pack('!H', ethertype) + packet

    def _protocol(self):
        if 'protocol' in self.filter:
            return int(self.filter['protocol'])
        if 'source_port' in self.filter or 'destination_port' in self.filter:
            # Only TCP and UDP carry ports, so only they can match a port filter.
            return self.random.choice((PROTO_TCP, PROTO_UDP))
        return self.random.choice((PROTO_TCP, PROTO_UDP, PROTO_ICMP))

    def _ports(self):
        source_port = self.filter.get('source_port')
        destination_port = self.filter.get('destination_port')
        source_port = int(source_port) if source_port is not None else self.random.randint(1024, 65535)
        if destination_port is None:
            destination_port = self.random.choice(_WELL_KNOWN_PORTS)
        return source_port, int(destination_port)

    def _random_address(self):
        if self.version == 4:
            pool = self.random.choice(_IPV4_POOLS)
            return pool[self.random.randint(1, pool.num_addresses - 2)]
        return _IPV6_POOL[self.random.randint(1, 2 ** 32)]

    def _pseudo_header(self, source, destination, protocol, length):
        if self.version == 4:
            return source.packed + destination.packed + struct.pack('!BBH', 0, protocol, length)
        return source.packed + destination.packed + struct.pack('!I3xB', length, protocol)

    def _tcp(self, source, destination, payload):
        source_port, destination_port = self._ports()
        sequence = self.random.getrandbits(32)
        acknowledgement = self.random.getrandbits(32)
        offset_and_flags = (5 << 12) | 0x18  # 20-byte header, PSH+ACK
        header = struct.pack('!HHIIHHHH', source_port, destination_port, sequence, acknowledgement,
                             offset_and_flags, 65535, 0, 0)
        segment = header + payload
        checksum = checksum16(self._pseudo_header(source, destination, PROTO_TCP, len(segment)) + segment)
        return segment[:16] + struct.pack('!H', checksum) + segment[18:]

    def _udp(self, source, destination, payload):
        source_port, destination_port = self._ports()
        length = 8 + len(payload)
        segment = struct.pack('!HHHH', source_port, destination_port, length, 0) + payload
        checksum = checksum16(self._pseudo_header(source, destination, PROTO_UDP, length) + segment)
        # A computed zero is sent as all ones: zero means "no checksum" in UDP.
        return segment[:6] + struct.pack('!H', checksum or 0xffff) + segment[8:]

    def _icmp(self, payload):
        identifier = self.random.getrandbits(16)
        sequence = self.random.getrandbits(16)
        message = struct.pack('!BBHHH', 8, 0, 0, identifier, sequence) + payload  # echo request
        return message[:2] + struct.pack('!H', checksum16(message)) + message[4:]

    def _ipv4(self, source, destination, protocol, segment):
        header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(segment), self.random.getrandbits(16), 0x4000,
                             64, protocol, 0, source.packed, destination.packed)
        header = header[:10] + struct.pack('!H', checksum16(header)) + header[12:]
        return header + segment

    def _ipv6(self, source, destination, protocol, segment):
        flow_label = self.random.getrandbits(20)
        header = struct.pack('!IHBB16s16s', (6 << 28) | flow_label, len(segment), protocol, 64,
                             source.packed, destination.packed)
        return header + segment


def _parse_address(text):
    return ipaddress.ip_address(text) if text else None


def build_pcap(capture_id, filter_v1, packet_count, first_timestamp, duration, snaplen=PCAP_SNAPLEN):
    """A complete libpcap file (little endian) of packet_count frames spread over duration seconds.

    snaplen goes into the file header, and each record keeps only the first snaplen bytes of its frame
    (incl_len <= snaplen, orig_len the frame's real length), as libpcap writes a truncated capture.
    """
    factory = PacketFactory(int(capture_id, 16), filter_v1)
    parts = [struct.pack('<IHHiIII', PCAP_MAGIC, PCAP_VERSION[0], PCAP_VERSION[1], 0, 0, snaplen,
                         LINKTYPE_ETHERNET)]
    step = float(duration) / max(packet_count, 1)
    for index in range(packet_count):
        frame = factory.frame()
        moment = first_timestamp + index * step
        seconds = int(moment)
        microseconds = min(int((moment - seconds) * 1000000), 999999)
        kept = frame[:snaplen]
        parts.append(struct.pack('<IIII', seconds, microseconds, len(kept), len(frame)))
        parts.append(kept)
    return b''.join(parts)
