#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: capture_summary_info
short_description: Summarise local pcap or pcapng files, their busiest flows first
version_added: 0.1.0
description:
  - Reads a capture file on the host that runs the module and returns what is in it at a glance, the same
    RV(summary) that M(cloudflare.pcap.capture_download) returns for the files it downloads. Use it for the files of
    a C(full) capture fetched from their bucket, or for any other capture.
  - It calls Cloudflare for nothing and needs no credentials. It takes none of the connection options and is not in
    the action group C(group/cloudflare.pcap.all).
  - Reads libpcap files (either byte order, micro- or nanosecond timestamps) and pcapng files (several sections and
    interfaces, each with its own link type and timestamp resolution; enhanced, simple and obsolete packet blocks).
  - Decodes the link types Ethernet (with 802.1Q and QinQ tags), raw IP (101, 228, 229), Linux cooked capture
    SLL (113) and SLL2 (276); IPv4 with options and fragments (only a first fragment carries ports), IPv6 through its
    extension headers; the ports of TCP, UDP, SCTP, DCCP and UDP-Lite. Packets of other link types or protocols
    are counted, in no flow.
  - Truncated packets, such as the 160-byte samples of a C(simple) Cloudflare capture, are summarised from the
    headers that are there.
  - The collection reads the headers itself, without a third-party library, so the module runs on any host with
    Python; the unit tests check its figures against dpkt's on files of every format above.
  - Given several files (a list, or shell-style patterns in O(path)), it summarises them as one capture, such as
    the files of a C(full) capture that Cloudflare wrote from several servers, and lists each file in RV(files).
  - A capture without packets gets C(empty_reasons) in RV(summary) and a warning that says why a capture can be empty.
  - A damaged file, or one that is not a capture, fails the task with a message that says what is wrong and at
    which byte offset.
  - Until cloudflare.pcap 0.2.0, its former name C(cloudflare.pcap.capture_summary) still works and redirects here,
    with a deprecation warning.
author:
  - cloudflare.pcap maintainers (@cloudflare-pcap)
extends_documentation_fragment:
  - cloudflare.pcap.attributes
  - cloudflare.pcap.attributes.info_module
attributes:
  platform:
    support: full
    details:
      - Reads a file on the host that runs the module.
    platforms: posix
options:
  path:
    description:
      - The capture file to summarise, or a list of them, summarised as one capture.
      - Each item may be a shell-style pattern (C(*), C(?), C([...])) such as C(/srv/incident/srv*/pcap_*.pcap);
        its matches are taken in name order. A pattern may match nothing (the files of a full capture are at the
        top or in folders) as long as O(path) as a whole names at least one file; otherwise the task fails.
      - With one file given by name (a string without a pattern), the result has that file's RV(format),
        RV(size) and RV(checksum) as before; otherwise RV(files) lists every file.
    type: raw
    required: true
  summary_top:
    description:
      - How many flows, source addresses and destination addresses RV(summary) lists, the busiest first.
      - V(0) lists none; the counts and protocols are still there.
      - The same option as O(cloudflare.pcap.capture_download#module:summary_top).
      - The alias C(top) is deprecated and will be removed in cloudflare.pcap 0.2.0; use O(summary_top).
    type: int
    default: 10
    aliases: [top]
seealso:
  - module: cloudflare.pcap.capture_download
    description: Downloads a capture (a full one from its bucket, merged) and returns the same summary.
  - module: cloudflare.pcap.capture_request
    description: Its O(cloudflare.pcap.capture_request#module:filter_v1) takes a flow's C(filter_v1) as it is.
'''

EXAMPLES = r'''
- name: Download a finished capture
  cloudflare.pcap.capture_download:
    id: "{{ capture.id }}"
    dest: "{{ incident_dir }}/evidence.pcap"
    summary_top: 0
  register: download

- name: Summarise the downloaded file, with its five busiest flows
  cloudflare.pcap.capture_summary_info:
    path: "{{ incident_dir }}/evidence.pcap"
    summary_top: 5
  register: evidence

- name: Summarise several files as one capture, such as the files of a full capture from its bucket
  cloudflare.pcap.capture_summary_info:
    path:
      - "{{ incident_dir }}/*.pcap"
      - "{{ incident_dir }}/srv*/pcap_*.pcap"
  register: all_evidence

- name: Name the busiest flow
  ansible.builtin.debug:
    msg: >-
      {{ evidence.summary.packets }} packets from {{ evidence.summary.first_packet }} to
      {{ evidence.summary.last_packet }}; busiest flow:
      {{ evidence.summary.flows[0].source_address }} -> {{ evidence.summary.flows[0].destination_address }}
      ({{ evidence.summary.flows[0].packets }} packets)
  when: evidence.summary.flows | length > 0

- name: Capture only the busiest flow next
  cloudflare.pcap.capture_request:
    time_limit: 60
    packet_limit: 1000
    filter_v1: "{{ evidence.summary.flows[0].filter_v1 }}"
  when: evidence.summary.flows | length > 0
'''

RETURN = r'''
format:
  description: The file format recognised from its magic number, V(pcap) (libpcap) or V(pcapng).
  returned: success, for one file given by name
  type: str
  sample: pcap
size:
  description: Size of the file in bytes.
  returned: success, for one file given by name
  type: int
  sample: 81234
checksum:
  description: SHA-256 of the file, in hexadecimal.
  returned: success, for one file given by name
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
packets:
  description: The number of packets in the file.
  returned: success
  type: int
  sample: 500
files:
  description:
    - Each file summarised, when O(path) is a list of several files or holds a pattern. C(path), C(size) (bytes),
      C(checksum) (SHA-256), C(format) (V(pcap) or V(pcapng)) and C(packets).
  returned: success, for several files or a pattern
  type: list
  elements: dict
  sample:
    - {path: /srv/incident/srv1/pcap_66802ca5668e47a2b82c2e6746e45037.pcap, size: 81234, format: pcap, packets: 500,
       checksum: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
summary:
  description:
    - What is in the file (or the files, as one capture). Times are RFC 3339 UTC, to the microsecond; bytes of flows, protocols and addresses are
      the packets' original lengths on the wire, link-layer header included.
  returned: success
  type: dict
  contains:
    packets:
      description: Packets in the file.
      type: int
      sample: 500
    captured_bytes:
      description: Bytes of packet data in the file.
      type: int
      sample: 80000
    wire_bytes:
      description: The packets' original lengths, before truncation.
      type: int
      sample: 372841
    truncated_packets:
      description: Packets of which the file keeps less than their original length (Cloudflare keeps 160 bytes).
      type: int
      sample: 468
    undecoded_packets:
      description:
        - Packets in no flow, because they are not IP (ARP, for example), their link type is not one the module
          decodes, or their IP addresses were cut off.
      type: int
      sample: 0
    first_packet:
      description: Time of the earliest packet; V(null) when no packet has a time (no packets, or only simple packet blocks).
      type: str
      sample: '2026-11-27T08:00:00.103215Z'
    last_packet:
      description: Time of the latest packet; V(null) when no packet has a time.
      type: str
      sample: '2026-11-27T08:00:59.881940Z'
    duration:
      description: Seconds from the earliest to the latest packet; V(null) when no packet has a time.
      type: float
      sample: 59.778725
    flow_count:
      description: How many different flows the file holds; RV(summary.flows) lists the busiest.
      type: int
      sample: 37
    flows:
      description:
        - The busiest flows (source and destination address and port, protocol), most packets first, then most
          bytes; O(summary_top) of them.
        - The ports are left out for protocols without ports, such as ICMP, and for IP fragments after the first.
      type: list
      elements: dict
      contains:
        source_address:
          description: Source IPv4 or IPv6 address (IPv6 compressed, lower case).
          type: str
          sample: 198.51.100.7
        destination_address:
          description: Destination IPv4 or IPv6 address.
          type: str
          sample: 203.0.113.10
        source_port:
          description: Source port, for TCP, UDP, SCTP, DCCP and UDP-Lite.
          type: int
          returned: when the protocol has ports
          sample: 51234
        destination_port:
          description: Destination port, for TCP, UDP, SCTP, DCCP and UDP-Lite.
          type: int
          returned: when the protocol has ports
          sample: 443
        protocol:
          description: IP protocol number (after IPv6 extension headers), for example V(6) for TCP.
          type: int
          sample: 6
        packets:
          description: Packets of the flow.
          type: int
          sample: 212
        bytes:
          description: Original (wire) bytes of the flow's packets.
          type: int
          sample: 301888
        filter_v1:
          description:
            - The flow's addresses, ports and protocol alone, ready for
              O(cloudflare.pcap.capture_request#module:filter_v1) to capture only this flow next.
          type: dict
          sample:
            source_address: 198.51.100.7
            destination_address: 203.0.113.10
            source_port: 51234
            destination_port: 443
            protocol: 6
        community_id:
          description:
            - The flow's L(Community ID,https://github.com/corelight/community-id-spec) v1 (seed 0), the flow hash
              that Zeek, Suricata, Arkime, Elastic and Wireshark log, to look the flow up in a SIEM. Both directions
              of a connection have the same ID.
            - For ICMP and ICMPv6, that of the flow's most frequent type and code (a request and its reply share an
              ID; an error message has its own).
            - V(null) when the packets do not hold what it needs - the ports of TCP, UDP or SCTP, or the ICMP type
              and code - as in IP fragments after the first.
            - Other protocols (DCCP and UDP-Lite included) are hashed by addresses and protocol alone, as the
              specification says.
          type: str
          returned: success
          sample: 1:NxpEl93jhPyWorKEDXUl5YRTkLM=
    protocols:
      description: Packets and bytes per IP protocol number, most packets first.
      type: list
      elements: dict
      sample:
        - {protocol: 6, packets: 431, bytes: 340120}
        - {protocol: 17, packets: 69, bytes: 32721}
    sources:
      description: The busiest source addresses (O(summary_top) of them), with their packets and bytes.
      type: list
      elements: dict
      sample:
        - {address: 198.51.100.7, packets: 212, bytes: 301888}
    destinations:
      description: The busiest destination addresses (O(summary_top) of them), with their packets and bytes.
      type: list
      elements: dict
      sample:
        - {address: 203.0.113.10, packets: 500, bytes: 372841}
    unsupported_link_types:
      description: Link types the module does not decode, with how many packets had them.
      type: list
      elements: dict
      sample:
        - {link_type: 105, packets: 12}
    empty_reasons:
      description:
        - Only when there is no packet. Why a finished capture can be empty, as Cloudflare documents it (packets
          dropped), and as sampling and filters imply (a sampled capture only covers traffic that passed while it
          ran; the filter matched nothing).
      type: list
      elements: str
      returned: when C(packets) is 0
      sample:
        - 'packets were dropped: Cloudflare documents that a capture "might be empty because packets were dropped"'
'''

import os

from ansible_collections.cloudflare.pcap.plugins.module_utils._module import PcapModule
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.files import DownloadError, describe_file, describe_files, files_named
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import summary_warnings

ARGUMENT_SPEC = dict(
    # raw, not a list: a list option would split one path at its commas.
    path=dict(type='raw', required=True),
    summary_top=dict(type='int', default=10, aliases=['top'],
                     deprecated_aliases=[dict(name='top', version='0.2.0', collection_name='cloudflare.pcap')]),
)

# connection=False: none of the collection's connection options, no credentials.
MODULE_OPTIONS = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, connection=False)


def main():
    module = PcapModule(**MODULE_OPTIONS)
    top = module.params['summary_top']
    if top < 0:
        module.fail_json(msg='summary_top: must be 0 or more, got %d' % top)
    try:
        paths, one_named_file = files_named(module.params['path'])
    except DownloadError as exc:
        module.fail_json(msg='path: %s' % exc)
    for path in paths:
        if not os.path.exists(path):
            module.fail_json(msg='path: %s does not exist' % path)
        if os.path.isdir(path):
            module.fail_json(msg='path: %s is a directory, not a capture file' % path)
    try:
        if one_named_file:
            described = describe_file(paths[0], top)
            del described['dest']  # AnsibleModule would add the file's owner, mode, ... to a result naming a path
        else:
            described = describe_files(paths, top)
    except DownloadError as exc:
        module.fail_json(msg='path: %s%s' % ('%s: ' % paths[0] if one_named_file else '', exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg='path: cannot read %s: %s' % (exc.filename or paths[0], exc.strerror or exc))
    for warning in summary_warnings(described['summary']):
        module.warn(warning)
    module.exit_json(changed=False, **described)


if __name__ == '__main__':
    main()
