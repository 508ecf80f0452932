# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-memory state of the simulated PCAP API: clock, captures, buckets and limits."""

import collections
import datetime
import math
import secrets
import threading
import time

from cfpcap_pcapgen import build_pcap

DEFAULT_CONFIG = {
    'pending_seconds': 1.0,
    'running_seconds': None,  # None: a capture runs for its own time_limit
    'conversion_seconds': 1.0,
    'fail_captures': False,
    'download_packets': 100,
    'simple_per_minute': True,
    'full_one_at_a_time': True,
    'rate_limit': 1200,
    'rate_limit_window': 300.0,
    'require_validated_bucket': False,
    'stop_finished_status': 400,
    'clock_speed': 1.0,
    'packets_per_second': 50,
}

# The request fields a capture echoes back; anything else in the body is ignored, as the contract allows.
ECHOED_FIELDS = {
    'simple': ('type', 'system', 'time_limit', 'packet_limit', 'filter_v1', 'offset_time'),
    'full': ('type', 'system', 'time_limit', 'packet_limit', 'filter_v1', 'colo_name', 'destination_conf',
             'byte_limit'),
}
FAILED_MESSAGE = 'No packets matched the filter in the time limit given. Please modify the filter or try again.'
SIMPLE_INTERVAL_SECONDS = 60.0
# The request log keeps the most recent entries only, so a long soak test cannot exhaust memory.
REQUEST_LOG_LIMIT = 10000

CODE_NOT_FOUND = 1003
CODE_NOT_RUNNING = 1004
CODE_SIMPLE_NOT_STOPPABLE = 1005
CODE_NOT_READY = 1006
CODE_FULL_NOT_DOWNLOADABLE = 1007
CODE_SIMPLE_PER_MINUTE = 1008
CODE_FULL_BUSY = 1009
CODE_BUCKET_EXISTS = 1010
CODE_BUCKET_NOT_FOUND = 1011
CODE_CHALLENGE_MISMATCH = 1012
CODE_BUCKET_NOT_VALIDATED = 1013
CODE_RATE_LIMITED = 10429


class ApiError(Exception):
    """An API failure: HTTP status, Cloudflare-style error code and message, optional Retry-After.

    details: more (code, message) pairs for the errors list, as Cloudflare sends for some routing errors.
    """

    def __init__(self, status, code, message, retry_after=None, details=()):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.details = tuple(details)


class ConfigError(Exception):
    """An admin config update that does not fit the config's types."""


def rfc3339(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def new_id():
    return secrets.token_hex(16)


class SimClock:
    """Simulated time: wall time at the anchor plus monotonic time elapsed since, scaled, plus manual advances."""

    def __init__(self, speed):
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._anchor_sim = time.time()
        self._anchor_mono = time.monotonic()

    def now(self):
        with self._lock:
            return self._anchor_sim + (time.monotonic() - self._anchor_mono) * self._speed

    @property
    def speed(self):
        return self._speed

    def set_speed(self, speed):
        # Rebase first so that the time already simulated is kept when the speed changes.
        with self._lock:
            mono = time.monotonic()
            self._anchor_sim += (mono - self._anchor_mono) * self._speed
            self._anchor_mono = mono
            self._speed = float(speed)

    def advance(self, seconds):
        with self._lock:
            self._anchor_sim += float(seconds)
        return self.now()

    def reset(self, speed):
        with self._lock:
            self._anchor_sim = time.time()
            self._anchor_mono = time.monotonic()
            self._speed = float(speed)

    def real_seconds(self, simulated_seconds):
        """Whole real seconds (at least 1) a client waits for simulated_seconds to pass: the Retry-After value."""
        speed = self._speed if self._speed > 0 else 1.0
        return max(1, int(math.ceil(simulated_seconds / speed)))


class Capture:
    """One packet capture. Its status is derived from the simulated time, never stored."""

    def __init__(self, account_id, body, created, sequence, config):
        self.id = new_id()
        self.account_id = account_id
        self.sequence = sequence
        self.type = body['type']
        self.body = dict((name, body[name]) for name in ECHOED_FIELDS[self.type] if name in body)
        self.created = created
        self.stop_requested = None
        self.pending_seconds = float(config['pending_seconds'])
        running = config['running_seconds']
        self.running_seconds = float(body['time_limit'] if running is None else running)
        self.conversion_seconds = float(config['conversion_seconds'])
        self.fails = bool(config['fail_captures'])
        self.packets_per_second = float(config['packets_per_second'])

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
        end = self.capture_end
        if now < end:
            return 'pending' if now < self.running_from else 'running'
        if now < end + self.conversion_seconds:
            return 'conversion_pending'
        if now < end + 2 * self.conversion_seconds:
            return 'conversion_running'
        if self.fails:
            return 'failed'
        return 'success' if self.type == 'simple' else 'complete'

    def is_active(self, now):
        return self.status(now) in ('pending', 'running')

    def packets_captured(self, now):
        if self.fails:
            return 0
        running_time = max(0.0, min(now, self.capture_end) - self.running_from)
        packets = int(running_time * self.packets_per_second)
        if 'packet_limit' in self.body:
            packets = min(packets, int(self.body['packet_limit']))
        return packets

    def to_api(self, now):
        status = self.status(now)
        result = {'id': self.id, 'status': status, 'submitted': rfc3339(self.created)}
        result.update(self.body)
        if self.type == 'full':
            result['packets_captured'] = self.packets_captured(now)
            if self.stop_requested is not None:
                result['stop_requested'] = rfc3339(self.stop_requested)
        if status == 'failed':
            result['error_message'] = FAILED_MESSAGE
        return result

    def to_internal(self, now):
        result = self.to_api(now)
        result.update({
            'account_id': self.account_id,
            'created_epoch': self.created,
            'running_from': rfc3339(self.running_from),
            'capture_end': rfc3339(self.capture_end),
            'pending_seconds': self.pending_seconds,
            'running_seconds': self.running_seconds,
            'conversion_seconds': self.conversion_seconds,
            'fails': self.fails,
        })
        return result


class Bucket:
    """A destination_conf registered for full captures, with its ownership challenge."""

    def __init__(self, account_id, destination_conf, submitted):
        self.id = new_id()
        self.account_id = account_id
        self.destination_conf = destination_conf
        self.submitted = submitted
        self.filename = 'ownership-challenge-%s.txt' % secrets.token_hex(4)
        self.validated = None

    def to_api(self):
        result = {
            'id': self.id,
            'status': 'success' if self.validated is not None else 'pending',
            'submitted': rfc3339(self.submitted),
            'destination_conf': self.destination_conf,
            'filename': self.filename,
        }
        if self.validated is not None:
            result['validated'] = rfc3339(self.validated)
        return result

    def to_internal(self):
        return dict(self.to_api(), account_id=self.account_id)


def _check_config_value(key, value):
    """Raise ConfigError unless value fits config key."""
    def is_number(item):
        return isinstance(item, (int, float)) and not isinstance(item, bool)

    def is_integer(item):
        return isinstance(item, int) and not isinstance(item, bool)

    flags = ('fail_captures', 'simple_per_minute', 'full_one_at_a_time', 'require_validated_bucket')
    non_negative = ('pending_seconds', 'conversion_seconds', 'clock_speed', 'packets_per_second')
    if key not in DEFAULT_CONFIG:
        raise ConfigError('unknown config key %r' % key)
    if key in flags and not isinstance(value, bool):
        raise ConfigError('%s must be a boolean' % key)
    if key in non_negative and not (is_number(value) and value >= 0):
        raise ConfigError('%s must be a number >= 0' % key)
    if key == 'running_seconds' and value is not None and not (is_number(value) and value >= 0):
        raise ConfigError('running_seconds must be null or a number >= 0')
    if key == 'download_packets' and not (is_integer(value) and value >= 0):
        raise ConfigError('download_packets must be an integer >= 0')
    if key == 'rate_limit' and value is not None and value is not False and not (is_integer(value) and value >= 1):
        raise ConfigError('rate_limit must be null, false or an integer >= 1')
    if key == 'rate_limit_window' and not (is_number(value) and value > 0):
        raise ConfigError('rate_limit_window must be a number > 0')
    if key == 'stop_finished_status' and value not in (204, 400):
        raise ConfigError('stop_finished_status must be 204 or 400')


class SimState:
    """Everything the simulator remembers. One lock guards it all: the request rate is tiny."""

    def __init__(self, accounts, clock_speed):
        self.lock = threading.RLock()
        self.accounts = tuple(accounts)
        self.default_config = dict(DEFAULT_CONFIG, clock_speed=float(clock_speed))
        self.clock = SimClock(clock_speed)
        self.config = {}
        self.captures = {}
        self.buckets = {}
        self.request_log = collections.deque(maxlen=REQUEST_LOG_LIMIT)
        self.last_simple_created = {}
        self.request_times = {}
        self._sequence = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.config = dict(self.default_config)
            self.clock.reset(self.config['clock_speed'])
            self.captures = dict((account, {}) for account in self.accounts)
            self.buckets = dict((account, {}) for account in self.accounts)
            self.request_log.clear()
            self.last_simple_created = {}
            self.request_times = {}

    def now(self):
        return self.clock.now()

    def update_config(self, changes):
        if not isinstance(changes, dict):
            raise ConfigError('the config must be a JSON object')
        for key, value in changes.items():
            _check_config_value(key, value)
        with self.lock:
            if changes.get('rate_limit') is False:
                changes = dict(changes, rate_limit=None)
            self.config.update(changes)
            if 'clock_speed' in changes:
                self.clock.set_speed(changes['clock_speed'])
            return dict(self.config)

    # Limits

    def count_request(self, account_id):
        """Apply the per-account request rate limit (sliding window on the simulated clock)."""
        with self.lock:
            limit = self.config['rate_limit']
            if not limit:
                return
            window = float(self.config['rate_limit_window'])
            now = self.now()
            times = self.request_times.setdefault(account_id, collections.deque())
            while times and times[0] <= now - window:
                times.popleft()
            while len(times) > limit:
                times.popleft()  # the limit was lowered: forget the surplus
            if len(times) >= limit:
                retry_after = self.clock.real_seconds(times[0] + window - now)
                raise ApiError(429, CODE_RATE_LIMITED,
                               'Rate limited. Please wait and consider throttling your request speed', retry_after)
            times.append(now)

    def _check_create_limits(self, account_id, capture_type, now):
        if capture_type == 'simple' and self.config['simple_per_minute']:
            last = self.last_simple_created.get(account_id)
            if last is not None and now - last < SIMPLE_INTERVAL_SECONDS:
                raise ApiError(429, CODE_SIMPLE_PER_MINUTE, 'Only one simple packet capture can be requested per minute',
                               self.clock.real_seconds(last + SIMPLE_INTERVAL_SECONDS - now))
        if capture_type == 'full' and self.config['full_one_at_a_time']:
            for capture in self.captures[account_id].values():
                if capture.type == 'full' and capture.is_active(now):
                    raise ApiError(429, CODE_FULL_BUSY,
                                   'A full packet capture is already pending or running (id %s)' % capture.id,
                                   self.clock.real_seconds(capture.capture_end - now))

    # Captures

    def create_capture(self, account_id, body):
        with self.lock:
            now = self.now()
            self._check_create_limits(account_id, body['type'], now)
            if body['type'] == 'full' and self.config['require_validated_bucket']:
                validated = [bucket for bucket in self.buckets[account_id].values()
                             if bucket.destination_conf == body['destination_conf'] and bucket.validated is not None]
                if not validated:
                    raise ApiError(400, CODE_BUCKET_NOT_VALIDATED,
                                   'destination_conf: %s is not a validated bucket; add and validate it with '
                                   'the ownership API first' % body['destination_conf'])
            self._sequence += 1
            capture = Capture(account_id, body, now, self._sequence, self.config)
            self.captures[account_id][capture.id] = capture
            if capture.type == 'simple':
                self.last_simple_created[account_id] = now
            return capture.to_api(now)

    def _capture(self, account_id, capture_id):
        capture = self.captures[account_id].get(capture_id)
        if capture is None:
            raise ApiError(404, CODE_NOT_FOUND, 'Packet capture not found')
        return capture

    def get_capture(self, account_id, capture_id):
        with self.lock:
            return self._capture(account_id, capture_id).to_api(self.now())

    def list_captures(self, account_id):
        with self.lock:
            now = self.now()
            newest_first = sorted(self.captures[account_id].values(), key=lambda capture: -capture.sequence)
            return [capture.to_api(now) for capture in newest_first]

    def stop_capture(self, account_id, capture_id):
        """Return the HTTP status of a stop that does not fail: 204, or the configured one for finished captures."""
        with self.lock:
            capture = self._capture(account_id, capture_id)
            if capture.type != 'full':
                raise ApiError(400, CODE_SIMPLE_NOT_STOPPABLE, 'Only full packet captures can be stopped')
            now = self.now()
            if capture.is_active(now):
                capture.stop_requested = now
                return 204
            if self.config['stop_finished_status'] == 204:
                return 204
            raise ApiError(400, CODE_NOT_RUNNING, 'Packet capture is not running')

    def download_capture(self, account_id, capture_id):
        """Return (filename, pcap bytes) of a finished simple capture."""
        with self.lock:
            capture = self._capture(account_id, capture_id)
            if capture.type != 'simple':
                raise ApiError(400, CODE_FULL_NOT_DOWNLOADABLE,
                               'Full packet captures are written to the configured bucket and cannot be downloaded')
            status = capture.status(self.now())
            if status != 'success':
                raise ApiError(409, CODE_NOT_READY, 'Packet capture is not ready for download (status %s)' % status)
            count = min(int(capture.body['packet_limit']), int(self.config['download_packets']))
            capture_id = capture.id
            filter_v1 = capture.body.get('filter_v1')
            first_timestamp = capture.running_from
            duration = capture.running_seconds
        # Building the file needs no lock; a 10000-packet file takes a moment.
        return '%s.pcap' % capture_id, build_pcap(capture_id, filter_v1, count, first_timestamp, duration)

    # Buckets

    def add_bucket(self, account_id, destination_conf):
        with self.lock:
            for bucket in self.buckets[account_id].values():
                if bucket.destination_conf == destination_conf:
                    raise ApiError(400, CODE_BUCKET_EXISTS, 'Bucket already registered')
            bucket = Bucket(account_id, destination_conf, self.now())
            self.buckets[account_id][bucket.id] = bucket
            return bucket.to_api()

    def validate_bucket(self, account_id, destination_conf, challenge):
        with self.lock:
            for bucket in self.buckets[account_id].values():
                if bucket.destination_conf == destination_conf:
                    break
            else:
                raise ApiError(404, CODE_BUCKET_NOT_FOUND, 'Bucket not found')
            if challenge != bucket.filename:
                raise ApiError(400, CODE_CHALLENGE_MISMATCH, 'Ownership challenge does not match')
            if bucket.validated is None:
                bucket.validated = self.now()
            return bucket.to_api()

    def list_buckets(self, account_id):
        with self.lock:
            return [bucket.to_api() for bucket in self.buckets[account_id].values()]  # oldest first

    def delete_bucket(self, account_id, bucket_id):
        with self.lock:
            if self.buckets[account_id].pop(bucket_id, None) is None:
                raise ApiError(404, CODE_BUCKET_NOT_FOUND, 'Bucket not found')

    # Admin views

    def all_captures(self):
        with self.lock:
            now = self.now()
            everything = [capture for account in self.captures.values() for capture in account.values()]
            return [capture.to_internal(now) for capture in sorted(everything, key=lambda capture: -capture.sequence)]

    def all_buckets(self):
        with self.lock:
            return [bucket.to_internal() for account in self.buckets.values() for bucket in account.values()]

    def log_request(self, entry):
        with self.lock:
            self.request_log.append(entry)

    def logged_requests(self):
        with self.lock:
            return list(self.request_log)
