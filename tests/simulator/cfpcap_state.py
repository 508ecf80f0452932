# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""In-memory state of the simulated PCAP API: clock, captures, buckets, limits and config.

Sources are cited as in tests/simulator/README.md: "spec" is docs/openapi/pcaps.openapi.json, "BEHAVIOUR.md"
../shared/cloudflare-openapi/BEHAVIOUR.md, and cloudflare-docs pages by their file name (collect-pcaps.mdx,
pcaps-bucket-setup.mdx, limits.mdx).
"""

import collections
import math
import threading
import time

from cfpcap_buckets import Bucket, credential_parameters, strip_credentials
from cfpcap_capture import Capture, new_id
from cfpcap_objects import LAYOUTS, SETTINGS as BUCKET_SETTINGS, capture_files, write_capture
from cfpcap_pcapgen import build_pcap

DEFAULT_CONFIG = {
    'pending_seconds': 1.0,
    'running_seconds': None,  # None: a capture runs for its own time_limit
    'conversion_seconds': 1.0,
    'fail_captures': False,
    'download_packets': 100,
    'simple_per_minute': True,
    'full_one_at_a_time': True,
    'rate_limit': 1200,  # limits.mdx: 1,200 requests per 5 minutes
    'rate_limit_window': 300.0,
    'lockout_seconds': 300.0,  # limits.mdx: going over blocks all calls for 5 minutes
    'require_validated_bucket': True,  # pcaps-bucket-setup.mdx: validate a bucket before full captures use it
    'stop_finished_status': 400,
    'clock_speed': 1.0,
    'packets_per_second': 50,
    'simple_finishes_at_once': False,  # BEHAVIOUR.md "sampled (simple) captures"
    'echo_in_cloudflare_form': False,  # no source settles the echoed form
    'strip_bucket_credentials': True,  # pcaps-bucket-setup.mdx: answers show the bucket without the R2 keys
    'validation_pending_seconds': 300.0,  # pcaps-bucket-setup.mdx: pending for five to ten minutes
    'challenge_dir': None,
    'sample_snaplen': 160,  # BEHAVIOUR.md: each sampled packet keeps only its first 160 bytes
    'list_limit': 50,  # collect-pcaps.mdx: the list returns up to 50 requests
    'unknown_status': False,  # spec status enum; no source says when Cloudflare sends "unknown"
    # Writing a finished full capture's files into its bucket over the S3 API (cfpcap_objects.py); null: not written.
    'bucket_endpoint': None,
    'bucket_credentials': None,  # for URIs without keys (S3, GCS): Cloudflare's own identity in the bucket policy
    'bucket_layout': 'top_level',  # no source settles how several files of a capture are kept apart
    'bucket_files': 1,  # collect-pcaps.mdx, PR #26482: one file per server the traffic crossed
    'bucket_foreign_file': False,  # a file of another capture beside this one's
}
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
CODE_VALIDATE_WITH_CREDENTIALS = 1014
CODE_CHALLENGE_NOT_WRITTEN = 1015
CODE_RATE_LIMITED = 10429
RATE_LIMITED_MESSAGE = 'Rate limited. Please wait and consider throttling your request speed'


class ApiError(Exception):
    """An API failure: HTTP status, Cloudflare-style error code and message, optional Retry-After.

    details: more (code, message) pairs for the errors list, as Cloudflare sends for some routing errors.
    headers: more HTTP headers for the answer (the rate-limit headers of a 429).
    """

    def __init__(self, status, code, message, retry_after=None, details=(), headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.details = tuple(details)
        self.headers = dict(headers or {})


class ConfigError(Exception):
    """An admin config update that does not fit the config's types."""


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


def _is_number(item):
    return isinstance(item, (int, float)) and not isinstance(item, bool)


def _is_integer(item):
    return isinstance(item, int) and not isinstance(item, bool)


_FLAGS = ('fail_captures', 'simple_per_minute', 'full_one_at_a_time', 'require_validated_bucket',
          'simple_finishes_at_once', 'echo_in_cloudflare_form', 'strip_bucket_credentials', 'unknown_status',
          'bucket_foreign_file')
_NON_NEGATIVE = ('pending_seconds', 'conversion_seconds', 'clock_speed', 'packets_per_second', 'lockout_seconds',
                 'validation_pending_seconds')


def _check_config_value(key, value):
    """Raise ConfigError unless value fits config key."""
    if key not in DEFAULT_CONFIG:
        raise ConfigError('unknown config key %r' % key)
    if key in _FLAGS and not isinstance(value, bool):
        raise ConfigError('%s must be a boolean' % key)
    if key in _NON_NEGATIVE and not (_is_number(value) and value >= 0):
        raise ConfigError('%s must be a number >= 0' % key)
    if key == 'running_seconds' and value is not None and not (_is_number(value) and value >= 0):
        raise ConfigError('running_seconds must be null or a number >= 0')
    if key == 'download_packets' and not (_is_integer(value) and value >= 0):
        raise ConfigError('download_packets must be an integer >= 0')
    if key == 'rate_limit' and value is not None and value is not False and not (_is_integer(value) and value >= 1):
        raise ConfigError('rate_limit must be null, false or an integer >= 1')
    if key == 'rate_limit_window' and not (_is_number(value) and value > 0):
        raise ConfigError('rate_limit_window must be a number > 0')
    if key == 'stop_finished_status' and value not in (204, 400):
        raise ConfigError('stop_finished_status must be 204 or 400')
    if key == 'challenge_dir' and value is not None and not (isinstance(value, str) and value):
        raise ConfigError('challenge_dir must be null or a non-empty path')
    if key == 'sample_snaplen' and not (_is_integer(value) and value >= 1):
        raise ConfigError('sample_snaplen must be an integer >= 1')
    if key == 'list_limit' and value is not None and not (_is_integer(value) and value >= 1):
        raise ConfigError('list_limit must be null or an integer >= 1')
    if key == 'bucket_endpoint' and value is not None and not (isinstance(value, str) and value.startswith(('http://', 'https://'))):
        raise ConfigError('bucket_endpoint must be null or an http:// or https:// URL')
    if key == 'bucket_credentials' and value is not None and not (
            isinstance(value, dict) and sorted(value) == ['access_key_id', 'secret_access_key']
            and all(isinstance(item, str) and item for item in value.values())):
        raise ConfigError('bucket_credentials must be null or {"access_key_id": ..., "secret_access_key": ...}')
    if key == 'bucket_layout' and value not in LAYOUTS:
        raise ConfigError('bucket_layout must be one of %s' % ', '.join(LAYOUTS))
    if key == 'bucket_files' and not (_is_integer(value) and value >= 1):
        raise ConfigError('bucket_files must be an integer >= 1')


def rate_limit_headers(remaining, reset_seconds, quota, window):
    """limits.mdx (updated 2026-04-20) and the API changelog of 2025-09-03: every REST answer carries
    `Ratelimit: "default";r=<remaining>;t=<seconds to reset>` and `Ratelimit-Policy: "default";q=<quota>;w=<window>`.
    """
    return {
        'Ratelimit': '"default";r=%d;t=%d' % (remaining, reset_seconds),
        'Ratelimit-Policy': '"default";q=%d;w=%d' % (quota, int(math.ceil(window))),
    }


class SimState:
    """Everything the simulator remembers. One lock guards it all: the request rate is tiny."""

    def __init__(self, accounts, clock_speed, challenge_dir=None):
        self.lock = threading.RLock()
        self.accounts = tuple(accounts)
        self.default_config = dict(DEFAULT_CONFIG, clock_speed=float(clock_speed), challenge_dir=challenge_dir)
        self.clock = SimClock(clock_speed)
        self.config = {}
        self.captures = {}
        self.buckets = {}
        self.request_log = collections.deque(maxlen=REQUEST_LOG_LIMIT)
        self.last_simple_created = {}
        self.request_times = {}
        self.locked_until = {}
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
            self.locked_until = {}

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
        """Apply the per-account request rate limit; return the rate-limit headers of the answer ({} when off).

        limits.mdx: a sliding window of rate_limit requests per rate_limit_window seconds (simulated clock). The
        request that exceeds it blocks every call of the account for lockout_seconds (429 with Retry-After, the
        whole real seconds left of the block). After a block the window starts empty (no source says otherwise).
        """
        with self.lock:
            limit = self.config['rate_limit']
            if not limit:
                return {}
            window = float(self.config['rate_limit_window'])
            now = self.now()
            locked_until = self.locked_until.get(account_id)
            if locked_until is not None and now >= locked_until:
                del self.locked_until[account_id]
                locked_until = None
            times = self.request_times.setdefault(account_id, collections.deque())
            if locked_until is None:
                while times and times[0] <= now - window:
                    times.popleft()
                while len(times) > limit:
                    times.popleft()  # the limit was lowered: forget the surplus
                if len(times) < limit:
                    times.append(now)
                    reset = self.clock.real_seconds(times[0] + window - now)
                    return rate_limit_headers(limit - len(times), reset, limit, window)
                locked_until = self.locked_until[account_id] = now + float(self.config['lockout_seconds'])
                times.clear()
            retry_after = self.clock.real_seconds(locked_until - now)
            raise ApiError(429, CODE_RATE_LIMITED, RATE_LIMITED_MESSAGE, retry_after,
                           headers=rate_limit_headers(0, retry_after, limit, window))

    def _check_create_limits(self, account_id, capture_type, now):
        # collect-pcaps.mdx: "one collect request per minute for sample PCAPs" and "one running or pending full
        # PCAP at a time". The HTTP status and code are the simulator's (BEHAVIOUR.md "capture limits").
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
                # pcaps-bucket-setup.mdx: "After you validate your bucket, you can begin using it to collect full
                # packet captures"; collect-pcaps.mdx: configure a bucket before a full capture. By identity.
                bucket = self._bucket_by_identity(account_id, strip_credentials(body['destination_conf']))
                if bucket is None or bucket.status(now) != 'success':
                    raise ApiError(400, CODE_BUCKET_NOT_VALIDATED,
                                   'destination_conf: %s is not a validated bucket; add and validate it with '
                                   'the ownership API first' % strip_credentials(body['destination_conf']))
            self._sequence += 1
            capture = Capture(account_id, body, now, self._sequence, self.config)
            # The capture keeps where its files go, like its timings; written when it finishes (_deliver).
            capture.bucket_settings = dict((key, self.config[key]) for key in BUCKET_SETTINGS)
            capture.bucket_objects = capture.bucket_error = None
            self.captures[account_id][capture.id] = capture
            if capture.type == 'simple':
                self.last_simple_created[account_id] = now
            return capture.to_api(now)

    def _capture(self, account_id, capture_id):
        capture = self.captures[account_id].get(capture_id)
        if capture is None:
            raise ApiError(404, CODE_NOT_FOUND, 'Packet capture not found')
        return capture

    def _deliver(self, capture, now):
        """Write a finished full capture's files into its bucket, once, before any answer shows it finished
        (collect-pcaps.mdx: the files are there to fetch once the capture has finished). A failed write is kept
        in bucket_error (/__sim/captures): no source says what Cloudflare does then, so the status stays."""
        settings = capture.bucket_settings
        if (capture.type != 'full' or not settings['bucket_endpoint'] or capture.bucket_objects is not None
                or capture.status(now) not in ('success', 'complete')):
            return
        packets = min(capture.packets_captured(now), int(self.config['download_packets']))
        first_timestamp, duration = capture.packet_window()
        contents = capture_files(capture.id, capture.request.get('filter_v1'), packets, first_timestamp, duration,
                                 settings['bucket_files'])
        capture.bucket_objects = []
        try:
            capture.bucket_objects = write_capture(capture.id, capture.request['destination_conf'], settings, contents, new_id())
        except Exception as exc:  # pylint: disable=broad-except
            capture.bucket_error = ' '.join(('%s: %s' % (type(exc).__name__, exc)).split())

    def get_capture(self, account_id, capture_id):
        with self.lock:
            capture, now = self._capture(account_id, capture_id), self.now()
            self._deliver(capture, now)
            return capture.to_api(now)

    def list_captures(self, account_id):
        """The newest captures first; at most list_limit of them (collect-pcaps.mdx: "up to 50")."""
        with self.lock:
            now = self.now()
            newest_first = sorted(self.captures[account_id].values(), key=lambda capture: -capture.sequence)
            if self.config['list_limit'] is not None:
                newest_first = newest_first[:self.config['list_limit']]
            for capture in newest_first:
                self._deliver(capture, now)
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
            count = min(int(capture.request['packet_limit']), int(self.config['download_packets']))
            capture_id = capture.id
            filter_v1 = capture.request.get('filter_v1')
            first_timestamp, duration = capture.packet_window()
            snaplen = int(self.config['sample_snaplen'])
        # Building the file needs no lock; a 10000-packet file takes a moment.
        return '%s.pcap' % capture_id, build_pcap(capture_id, filter_v1, count, first_timestamp, duration, snaplen)

    # Buckets

    def _bucket_by_identity(self, account_id, identity):
        for bucket in self.buckets[account_id].values():
            if bucket.identity == identity:
                return bucket
        return None

    def _bucket_view(self, bucket, internal=False):
        strip = self.config['strip_bucket_credentials']
        now = self.now()
        return bucket.to_internal(now, strip) if internal else bucket.to_api(now, strip)

    def _register_bucket(self, account_id, destination_conf):
        """A new bucket; raises ApiError 400 when one of the same identity exists (the URI without credentials)."""
        if self._bucket_by_identity(account_id, strip_credentials(destination_conf)) is not None:
            raise ApiError(400, CODE_BUCKET_EXISTS, 'Bucket already registered')
        bucket = Bucket(account_id, destination_conf, self.now())
        if self.config['challenge_dir']:
            try:
                bucket.write_challenge_file(self.config['challenge_dir'])
            except OSError as exc:
                raise ApiError(500, CODE_CHALLENGE_NOT_WRITTEN,
                               'simulator: could not write the challenge file: %s' % exc) from None
        self.buckets[account_id][bucket.id] = bucket
        return bucket

    def add_bucket(self, account_id, destination_conf):
        with self.lock:
            return self._bucket_view(self._register_bucket(account_id, destination_conf))

    def seed_bucket(self, account_id, destination_conf, validated):
        """Admin: register a bucket directly, already validated when asked; its internal view."""
        with self.lock:
            bucket = self._register_bucket(account_id, destination_conf)
            if validated:
                bucket.validated = self.now()
            return self._bucket_view(bucket, internal=True)

    def validate_bucket(self, account_id, destination_conf, challenge):
        with self.lock:
            present = credential_parameters(destination_conf)
            if present:
                # pcaps-bucket-setup.mdx: "When specifying the R2 destination for this validation, exclude the
                # secret and access keys from the URL."
                raise ApiError(400, CODE_VALIDATE_WITH_CREDENTIALS,
                               'destination_conf: must not carry %s; exclude the access and secret keys from the '
                               'URI when validating' % ', '.join(present))
            bucket = self._bucket_by_identity(account_id, destination_conf)
            if bucket is None:
                raise ApiError(404, CODE_BUCKET_NOT_FOUND, 'Bucket not found')
            # pcaps-bucket-setup.mdx: the challenge is the file's contents (docs PR #16626), not its name.
            if challenge != bucket.challenge:
                raise ApiError(400, CODE_CHALLENGE_MISMATCH, 'Ownership challenge does not match')
            if bucket.validated is None:
                # pcaps-bucket-setup.mdx: verification "can take five to ten minutes"; pending until then.
                bucket.validated = self.now() + float(self.config['validation_pending_seconds'])
            return self._bucket_view(bucket)

    def list_buckets(self, account_id):
        with self.lock:
            return [self._bucket_view(bucket) for bucket in self.buckets[account_id].values()]  # oldest first

    def delete_bucket(self, account_id, bucket_id):
        with self.lock:
            if self.buckets[account_id].pop(bucket_id, None) is None:
                raise ApiError(404, CODE_BUCKET_NOT_FOUND, 'Bucket not found')

    # Admin views

    def all_captures(self):
        with self.lock:
            now = self.now()
            everything = sorted((capture for account in self.captures.values() for capture in account.values()),
                                key=lambda capture: -capture.sequence)
            views = []
            for capture in everything:
                self._deliver(capture, now)
                views.append(dict(capture.to_internal(now), bucket_objects=capture.bucket_objects, bucket_error=capture.bucket_error))
            return views

    def all_buckets(self):
        with self.lock:
            return [self._bucket_view(bucket, internal=True)
                    for account in self.buckets.values() for bucket in account.values()]

    def log_request(self, entry):
        with self.lock:
            self.request_log.append(entry)

    def logged_requests(self):
        with self.lock:
            return list(self.request_log)
