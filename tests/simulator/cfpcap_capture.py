# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One packet capture: what it keeps of its request, its status on the simulated clock, and its API object.

Sources are cited as in tests/simulator/README.md: "spec" is docs/openapi/pcaps.openapi.json, "SDK" the official
Python SDK cloudflare 5.9.0 (cloudflare/types/magic_transit/), "BEHAVIOUR.md" ../shared/cloudflare-openapi/BEHAVIOUR.md.
"""

import datetime
import ipaddress
import secrets

from cfpcap_buckets import rfc3339, strip_credentials
from cfpcap_rules import parse_rfc3339

# The fields a capture object may carry, per type: spec components pcaps_response_simple and pcaps_response_full,
# SDK models PCAP and MagicVisibilityPCAPsPCAPsResponseFull. Neither has packet_limit; the simple one has no
# error_message. Nothing outside these sets is ever echoed.
RESPONSE_FIELDS = {
    'simple': frozenset(('id', 'filter_v1', 'offset_time', 'status', 'submitted', 'system', 'time_limit', 'type')),
    'full': frozenset(('id', 'byte_limit', 'colo_name', 'destination_conf', 'error_message', 'filter_v1',
                       'packets_captured', 'status', 'stop_requested', 'submitted', 'system', 'time_limit',
                       'type')),
}
# spec component pcaps_filter_v1, SDK PCAPFilter: the only filter fields an answer may carry.
FILTER_FIELDS = ('destination_address', 'destination_port', 'protocol', 'source_address', 'source_port')
# The request fields the simulator keeps: the echoed ones, plus packet_limit, which only sizes downloads and the
# packets_captured count (it is never in an answer).
STORED_FIELDS = ('type', 'system', 'time_limit', 'packet_limit', 'filter_v1', 'offset_time', 'colo_name',
                 'destination_conf', 'byte_limit')
# spec pcaps_error_message (its example), full captures only.
FAILED_MESSAGE = 'No packets matched the filter in the time limit given. Please modify the filter or try again.'
# echo_in_cloudflare_form: numbers the SDK types as float (PCAP.time_limit, PCAPFilter ports and protocol,
# MagicVisibilityPCAPsPCAPsResponseFull.byte_limit) come back as JSON floats.
_FLOAT_FIELDS = ('time_limit', 'byte_limit')
_FLOAT_FILTER_FIELDS = ('destination_port', 'protocol', 'source_port')
_ADDRESS_FILTER_FIELDS = ('destination_address', 'source_address')


def new_id():
    return secrets.token_hex(16)


def cloudflare_form(name, value):
    """The echoed value written back in another, equivalent form (config echo_in_cloudflare_form).

    No source settles the exact form Cloudflare echoes; this one differs from the request wherever it legally can,
    so that clients compare by meaning: IPv6 addresses fully expanded and upper-case, offset_time in UTC with
    milliseconds and a +00:00 suffix, numbers as floats.
    """
    if name in _FLOAT_FIELDS:
        return float(value)
    if name == 'offset_time':
        moment = parse_rfc3339(value)
        whole = int(moment // 1)
        milliseconds = int(round((moment - whole) * 1000))
        if milliseconds == 1000:
            whole, milliseconds = whole + 1, 0
        stamp = datetime.datetime.fromtimestamp(whole, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S')
        return '%s.%03d+00:00' % (stamp, milliseconds)
    if name == 'filter_v1':
        converted = {}
        for field, item in value.items():
            if field in _FLOAT_FILTER_FIELDS:
                item = float(item)
            elif field in _ADDRESS_FILTER_FIELDS:
                address = ipaddress.ip_address(item)
                item = address.exploded.upper() if address.version == 6 else str(address)
            converted[field] = item
        return converted
    return value


class Capture:
    """One packet capture. Its status is derived from the simulated time, never stored.

    The config switches that shape a capture are read once, when it is created (see README, "Config keys").
    """

    def __init__(self, account_id, body, created, sequence, config):
        self.id = new_id()
        self.account_id = account_id
        self.sequence = sequence
        self.type = body['type']
        self.request = dict((name, body[name]) for name in STORED_FIELDS if name in body)
        if isinstance(self.request.get('filter_v1'), dict):
            # Unknown filter fields are accepted (the request schema allows them) but never echoed.
            self.request['filter_v1'] = dict((name, value) for name, value in self.request['filter_v1'].items()
                                             if name in FILTER_FIELDS)
        self.created = created
        self.stop_requested = None
        self.fails = bool(config['fail_captures'])
        self.packets_per_second = float(config['packets_per_second'])
        # simple_finishes_at_once, BEHAVIOUR.md "sampled (simple) captures": they query stored traffic and can
        # finish almost at once. The capture is terminal from its create answer on.
        self.finishes_at_once = self.type == 'simple' and bool(config['simple_finishes_at_once'])
        # unknown_status: the spec's status enum has "unknown"; no source says when Cloudflare sends it.
        self.unknown = bool(config['unknown_status'])
        if self.finishes_at_once:
            self.pending_seconds = self.running_seconds = self.conversion_seconds = 0.0
        else:
            self.pending_seconds = float(config['pending_seconds'])
            running = config['running_seconds']
            self.running_seconds = float(body['time_limit'] if running is None else running)
            self.conversion_seconds = float(config['conversion_seconds'])
        self.echo = self._echo(config)

    def _echo(self, config):
        echo = {}
        for name, value in self.request.items():
            if name not in RESPONSE_FIELDS[self.type]:
                continue
            if name == 'destination_conf' and config['strip_bucket_credentials']:
                # bucket-setup: answers show the bucket without the R2 access keys (strip_bucket_credentials).
                value = strip_credentials(value)
            if config['echo_in_cloudflare_form']:
                value = cloudflare_form(name, value)
            echo[name] = value
        return echo

    @property
    def running_from(self):
        return self.created + self.pending_seconds

    @property
    def capture_end(self):
        natural_end = self.running_from + self.running_seconds
        if self.stop_requested is not None:
            return min(natural_end, self.stop_requested)
        return natural_end

    def status(self, now):
        if self.unknown:
            return 'unknown'
        end = self.capture_end
        if now < end:
            return 'pending' if now < self.running_from else 'running'
        if now < end + self.conversion_seconds:
            return 'conversion_pending'
        if now < end + 2 * self.conversion_seconds:
            return 'conversion_running'
        if self.fails:
            return 'failed'
        # spec status enum; BEHAVIOUR.md "full capture output": a finished full capture is "complete" in the
        # dashboard. Which of success/complete the API sends for a full capture is not settled (README).
        return 'success' if self.type == 'simple' else 'complete'

    def is_active(self, now):
        return self.status(now) in ('pending', 'running')

    def packets_captured(self, now):
        if self.fails or self.unknown:
            return 0
        running_time = max(0.0, min(now, self.capture_end) - self.running_from)
        packets = int(running_time * self.packets_per_second)
        if 'packet_limit' in self.request:
            packets = min(packets, int(self.request['packet_limit']))
        return packets

    def packet_window(self):
        """(first packet time, duration) of the packets a download holds."""
        if self.finishes_at_once:
            # Stored traffic is queried backwards from offset_time (spec pcaps_offset_time), or from the request.
            end = parse_rfc3339(self.request['offset_time']) if 'offset_time' in self.request else self.created
            duration = float(self.request['time_limit'])
            return end - duration, duration
        return self.running_from, self.running_seconds

    def to_api(self, now):
        status = self.status(now)
        result = dict(self.echo)
        result.update({'id': self.id, 'status': status, 'submitted': rfc3339(self.created)})
        if self.type == 'full':
            result['packets_captured'] = self.packets_captured(now)
            if self.stop_requested is not None:
                result['stop_requested'] = rfc3339(self.stop_requested)
            if status == 'failed':
                result['error_message'] = FAILED_MESSAGE
        # The last guard of "never more than the response schema".
        return dict((name, value) for name, value in result.items() if name in RESPONSE_FIELDS[self.type])

    def to_internal(self, now):
        result = self.to_api(now)
        if 'packet_limit' in self.request:
            result['packet_limit'] = self.request['packet_limit']
        result.update({
            'request': dict(self.request),
            'account_id': self.account_id,
            'created_epoch': self.created,
            'running_from': rfc3339(self.running_from),
            'capture_end': rfc3339(self.capture_end),
            'pending_seconds': self.pending_seconds,
            'running_seconds': self.running_seconds,
            'conversion_seconds': self.conversion_seconds,
            'fails': self.fails,
            'finishes_at_once': self.finishes_at_once,
            'unknown_status': self.unknown,
        })
        return result
