# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection: auth, base URL, TLS, timeouts, retries of safe methods,
Cloudflare's envelope, one error type, and Cloudflare's rate limit. Private to cloudflare.pcap; the interface may
change in any release.

Rate limit (Cloudflare: 1,200 requests per 5 minutes per credential, summed over everything that uses it; going
over blocks ALL calls for 5 minutes with 429 and a Retry-After of up to 300 s):

- A 429 whose Retry-After is longer than RETRY_AFTER_CAP, or longer than what is left of the retry limit (below),
  is not retried: it fails at once, saying until when (UTC) Cloudflare refuses this credential's calls.
- Every answer's ``Ratelimit`` / ``Ratelimit-Policy`` headers are read into ``client.rate_limit``;
  ``client.pace()`` says how long to wait before the next request so the remaining quota lasts until the window
  resets (the Waiter takes it as ``pace``).
- Retries of one request (backoff and Retry-After waits alike) end by min(first failure + RETRY_BUDGET,
  ``client.deadline``); ``client.set_deadline(seconds)`` sets the task's deadline.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import email.utils
import math
import random
import re
import sys
import time
import traceback

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.auth import AuthBase
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError, ResponseError
    from urllib3.util.retry import Retry
except ImportError:
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    AuthBase = HTTPAdapter = Retry = object

COLLECTION_VERSION = '0.1.0'
DEFAULT_BASE_URL = 'https://api.cloudflare.com/client/v4'

# Statuses worth another try for requests that are safe to repeat (GET, PUT .../stop, DELETE).
# 52x are Cloudflare's edge failing to reach or hear from the origin: transient, like 502-504.
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504, 520, 521, 522, 523, 524))
# POST is deliberately absent: creating a capture twice is worse than failing once.
SAFE_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE'))
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A longer Retry-After is not waited for: the request fails at once and says until when (a 429 of this length is
# Cloudflare's 5-minute lock-out of the credential).
RETRY_AFTER_CAP = 60.0
# No request keeps retrying for longer than this, whatever `retries` says; waits count.
RETRY_BUDGET = 120.0
# pace(): the quota counts as low when at most this share of it is left (or, without a policy, this many requests).
PACE_LOW_SHARE = 0.25
PACE_LOW_REMAINING = 100

MASK = '********'
_ID_PATTERN = re.compile(r'^[0-9a-fA-F]{32}$')
_ROUTE_WORD = re.compile(r'^[a-z]+$')
_HTML_TITLE = re.compile(r'<title[^>]*>(.*?)</title>', re.IGNORECASE | re.DOTALL)
_INTEGER = re.compile(r'^-?[0-9]{1,15}$')
_NUMBER = re.compile(r'^-?[0-9]{1,12}(\.[0-9]{1,3})?$')
_TOKEN = re.compile(r"^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*$")


def is_cloudflare_id(value):
    """Cloudflare account, capture and bucket ids are 32 hexadecimal characters."""
    return isinstance(value, str) and bool(_ID_PATTERN.match(value))


class CloudflareAPIError(Exception):
    """Every failure of a Cloudflare API call: HTTP status, Cloudflare error codes, and what was being done."""

    def __init__(self, operation, detail, status=None, reason=None, errors=None, retry_after=None, outcome_unknown=False,
                 retry_at=None, locked_out=False):
        self.operation = operation
        self.detail = detail
        self.status = status
        self.reason = reason
        self.errors = errors or []
        self.retry_after = retry_after
        # When (UTC, RFC 3339) Retry-After ends, e.g. '2026-12-02T06:15:00Z'.
        self.retry_at = retry_at
        # Cloudflare refuses every call of this credential until retry_at (rate limit); the request was not retried.
        self.locked_out = locked_out
        # True when the request may have been processed although no answer arrived (timeout, reset, 5xx).
        self.outcome_unknown = outcome_unknown
        super(CloudflareAPIError, self).__init__(self.message)

    @property
    def error_codes(self):
        return [error['code'] for error in self.errors if error.get('code') is not None]

    @property
    def message(self):
        details = []
        if self.locked_out:
            details.append("Cloudflare is refusing this credential's calls (rate limit) until %s" % (self.retry_at or 'later'))
        if self.status is not None:
            details.append(('HTTP %s %s' % (self.status, self.reason or '')).rstrip())
        for error in self.errors:
            code = ' %s' % error['code'] if error.get('code') is not None else ''
            details.append('Cloudflare error%s: %s' % (code, error.get('message') or 'no message'))
        if self.detail:
            details.append(self.detail)
        if self.retry_after is not None:
            details.append('retry after %d s' % self.retry_after)
        return '%s failed%s' % (self.operation, ': ' + ', '.join(details) if details else '')

    def add_detail(self, note):
        self.detail = '%s; %s' % (self.detail, note) if self.detail else note

    def as_result(self):
        """The machine-readable part of the failure, for fail_json."""
        result = {}
        if self.status is not None:
            result['status_code'] = self.status
        if self.errors:
            result.update(errors=self.errors, error_codes=self.error_codes)
        if self.retry_after is not None:
            result['retry_after'] = self.retry_after
        if self.retry_at is not None:
            result['retry_at'] = self.retry_at
        return result


class _SafeRetry(Retry):
    """urllib3 retries with full-jitter backoff, Retry-After honoured up to RETRY_AFTER_CAP, and one time limit.

    `hooks` is the CloudflareClient (or any object with the same members): ``clock()`` (monotonic seconds),
    ``sleep(seconds)``, ``retry_limit(first_failure)`` -> (monotonic time, what it is called), ``on_retry`` (None or
    a callable (method, url, cause, retries left), for warnings), ``read_rate_limit(headers)`` and
    ``retry_refused(detail, retry_after_refused)``. A retry whose wait (backoff or Retry-After) would end past the
    limit is not made: urllib3 then gives the last answer (or error) back, and the client reports why.
    """

    def __init__(self, *args, **kwargs):
        self.hooks = kwargs.pop('hooks')
        # When the first attempt of this request failed; urllib3 makes a new Retry per attempt via new().
        self.first_failure = kwargs.pop('first_failure', None)
        # What sleep() waits before the next attempt, decided by increment().
        self.wait = kwargs.pop('wait', 0.0)
        super(_SafeRetry, self).__init__(*args, **kwargs)

    def new(self, **kwargs):
        kwargs.setdefault('hooks', self.hooks)
        kwargs.setdefault('first_failure', self.hooks.clock() if self.first_failure is None else self.first_failure)
        return super(_SafeRetry, self).new(**kwargs)

    def get_backoff_time(self):
        # Full jitter (random between 0 and the exponential ceiling) spreads the retries of parallel jobs apart.
        attempts = len(self.history)
        if attempts <= 0:
            return 0
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempts - 1))))

    def sleep_for_retry(self, response=None):
        if self.wait > 0:
            self.hooks.sleep(self.wait)
        return True

    def sleep(self, response=None):
        self.sleep_for_retry(response)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None:
            self.hooks.read_rate_limit(response.headers)
        next_retry = super(_SafeRetry, self).increment(method, url, response, error, _pool, _stacktrace)
        retry_after = _retry_after_wait(response.headers.get('Retry-After')) if response is not None else None
        wait = retry_after if retry_after else next_retry.get_backoff_time()
        refusal = None
        if retry_after is not None and retry_after > RETRY_AFTER_CAP:
            refusal = 'not retried: Cloudflare asked to wait %d s, longer than the %d s this client waits' % (
                math.ceil(retry_after), RETRY_AFTER_CAP)
        else:
            limit, limit_name = self.hooks.retry_limit(next_retry.first_failure)
            left = limit - self.hooks.clock()
            if left <= 0 or wait > left:
                refusal = '%s spent: %s s left, the next try would wait %s s' % (limit_name, _seconds(max(0.0, left)), _seconds(wait))
        if refusal is not None:
            self.hooks.retry_refused(refusal, retry_after is not None and wait == retry_after)
            raise MaxRetryError(_pool, url, error or ResponseError(refusal))
        next_retry.wait = wait
        if self.hooks.on_retry is not None:
            self.hooks.on_retry(method, url, _retry_cause(response, error), next_retry.total)
        return next_retry


RateLimit = collections.namedtuple('RateLimit', 'name remaining reset quota window at')
RateLimit.__doc__ = """One reading of Cloudflare's rate-limit headers: the limit's name, the requests remaining, the seconds
until its window resets (from the ``Ratelimit`` header: r, t), the quota and window seconds (from
``Ratelimit-Policy``: q, w; None when not given) and when it was read (the client's monotonic clock)."""


class _CloudflareAuth(AuthBase):
    """Adds the credentials per request. Being an auth object also stops requests from taking ~/.netrc."""

    def __init__(self, headers):
        self.headers = headers

    def __call__(self, prepared_request):
        prepared_request.headers.update(self.headers)
        return prepared_request


class CloudflareClient:
    """Talks to Cloudflare's API v4 on behalf of one account.

    `clock` (monotonic seconds) and `sleep` are what the retries and pace() use; tests inject fakes.

    Members for callers that wait (e.g. polling a capture):

    - ``deadline``: monotonic time (of `clock`) by which retries must end, or None (only RETRY_BUDGET applies).
      Retries of a request never wait past min(its first failure + RETRY_BUDGET, deadline). Set it with
      ``set_deadline(seconds)`` and clear it with ``set_deadline(None)``.
    - ``rate_limit``: the latest RateLimit read from an answer's headers, or None when no answer had them.
    - ``pace()``: seconds to wait at least before the next request so that the remaining quota lasts until the
      window resets; pass it as ``Waiter(..., pace=client.pace)``.
    """

    def __init__(self, account_id, base_url=DEFAULT_BASE_URL, api_token=None, api_email=None, api_key=None,
                 timeout=30, validate_certs=True, retries=3, on_retry=None, user_agent=None,
                 clock=time.monotonic, sleep=time.sleep):
        if not is_cloudflare_id(account_id):
            # The module validates first and names the option; this guards direct use of the client.
            raise ValueError('account_id must be 32 hexadecimal characters')
        self.account_id = account_id
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
        self.on_retry = on_retry
        self.clock = clock
        self.sleep = sleep
        self.deadline = None
        self.rate_limit = None
        # Why the retries of the request in progress stopped early: (detail, whether a Retry-After was refused).
        self._refusal = None
        self._secrets = [secret for secret in (api_token, api_key) if secret]
        self.session = requests.Session()
        self.session.verify = validate_certs
        self.session.headers.update({
            'Accept': 'application/json',
            'User-Agent': user_agent or default_user_agent(),
        })
        if api_token:
            self.session.auth = _CloudflareAuth({'Authorization': 'Bearer ' + api_token})
        else:
            self.session.auth = _CloudflareAuth({'X-Auth-Email': api_email, 'X-Auth-Key': api_key})
        retry = _SafeRetry(
            total=retries, connect=retries, read=retries, status=retries, other=0, redirect=0,
            allowed_methods=SAFE_METHODS, status_forcelist=RETRY_STATUSES,
            respect_retry_after_header=True, raise_on_status=False, hooks=self,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount('https://', adapter)
        self.session.mount('http://', adapter)

    def set_deadline(self, seconds):
        """Retries end within `seconds` from now (None: no deadline, only RETRY_BUDGET). Returns the deadline."""
        self.deadline = None if seconds is None else self.clock() + max(0.0, seconds)
        return self.deadline

    def retry_limit(self, first_failure):
        """When the retries of a request that first failed at `first_failure` must end, and what that limit is."""
        budget_end = first_failure + RETRY_BUDGET
        if self.deadline is not None and self.deadline < budget_end:
            return self.deadline, 'deadline'
        return budget_end, 'retry budget of %s s' % _seconds(RETRY_BUDGET)

    def retry_refused(self, detail, retry_after_refused):
        self._refusal = (detail, retry_after_refused)

    def read_rate_limit(self, headers):
        """Keep the rate-limit reading of an answer's headers, if it has one that can be read."""
        reading = parse_rate_limit(headers.get('Ratelimit'), headers.get('Ratelimit-Policy'), self.clock())
        if reading is not None:
            self.rate_limit = reading
        return reading

    def pace(self):
        """Seconds to wait at least before the next request, from the latest rate-limit reading: 0 while plenty of
        the quota is left (or nothing is known, or the window has reset since); when little is left, the time until
        the reset spread over the requests remaining; when none is left, the time until the reset."""
        reading = self.rate_limit
        if reading is None:
            return 0.0
        left = reading.reset - (self.clock() - reading.at)
        if left <= 0:
            return 0.0
        if reading.remaining <= 0:
            return left
        low = reading.quota * PACE_LOW_SHARE if reading.quota else PACE_LOW_REMAINING
        if reading.remaining > low:
            return 0.0
        return left / reading.remaining

    def account_path(self, *segments):
        """/accounts/{account_id}/seg/..., where each segment is a route word or a Cloudflare id.

        Anything else is refused, so no value can steer a request to another path.
        """
        for segment in segments:
            if not (_ROUTE_WORD.match(segment) or is_cloudflare_id(segment)):
                raise ValueError('refusing to put %r into a URL path: not a Cloudflare id' % (segment,))
        return '/accounts/' + '/'.join((self.account_id,) + segments)

    def mask(self, text):
        """Remove every credential the client knows of from a text before it is shown to anyone."""
        if not isinstance(text, str):
            return text
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def request(self, method, path, operation, body=None, stream=False, accept=None):
        """Send one request; return the envelope's `result`, or the raw response when `stream` is set.

        Raises CloudflareAPIError for anything but a successful answer.
        """
        url = self.base_url + path
        headers = {'Accept': accept} if accept else None
        self._refusal = None
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout, stream=stream,
                                            headers=headers, allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            error = self._transport_error(method, operation, exc)
            if self._refusal is not None:
                error.add_detail(self._refusal[0])
            raise error
        self.read_rate_limit(response.headers)
        if stream and response.status_code == 200:
            return response
        try:
            return self._parse(response, operation)
        finally:
            response.close()

    def download(self, path, operation, write, accept):
        """Stream a binary answer into write(chunk), without holding it in memory. Returns the bytes written."""
        response = self.request('GET', path, operation, stream=True, accept=accept)
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                write(chunk)
                size += len(chunk)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error('GET', operation, exc)
        finally:
            response.close()
        return size

    def _transport_error(self, method, operation, exc):
        cause = _root_cause(exc)
        # A connection that was never established carried no request, so nothing can have been created.
        never_sent = isinstance(cause, ConnectTimeoutError) or isinstance(exc, requests.exceptions.SSLError)
        if isinstance(exc, requests.exceptions.SSLError):
            detail = 'TLS verification of %s failed (%s); fix the certificate chain, or set validate_certs=false ' \
                     'only for a trusted test endpoint' % (self.base_url, _describe(cause))
        elif never_sent:
            detail = 'cannot connect to %s (%s)' % (self.base_url, _describe(cause))
        elif isinstance(exc, requests.exceptions.Timeout) or isinstance(cause, ReadTimeoutError):
            detail = 'no answer from %s within %s s (timeout)' % (self.base_url, self.timeout)
        else:
            detail = 'connection to %s failed (%s)' % (self.base_url, _describe(cause))
        unknown = method not in SAFE_METHODS and not never_sent
        return CloudflareAPIError(operation, self.mask(detail), outcome_unknown=unknown)

    def _parse(self, response, operation):
        try:
            return self._parse_envelope(response, operation)
        except CloudflareAPIError as error:
            if error.retry_after is not None:
                error.retry_at = _retry_at(response.headers.get('Retry-After'))
            refusal, retry_after_refused = self._refusal or (None, False)
            if error.status == 429 and error.retry_after is not None and (
                    retry_after_refused or error.retry_after > RETRY_AFTER_CAP):
                # Waiting would not help within this task: say until when the credential is refused, at once.
                error.locked_out = True
                if error.retry_after > RETRY_AFTER_CAP:
                    refusal = None  # the lock-out says it all
            if refusal:
                error.add_detail(refusal)
            raise

    def _parse_envelope(self, response, operation):
        status = response.status_code
        reason = response.reason
        retry_after = _retry_after_seconds(response)
        if status == 204:
            return None
        content_type = response.headers.get('Content-Type', '')
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            # An unreadable 2xx answer to a create request means it was probably processed: outcome unknown.
            raise CloudflareAPIError(
                operation, self.mask(_describe_non_json(response, content_type)), status=status, reason=reason,
                retry_after=retry_after, outcome_unknown=status >= 500 or status < 300)
        errors = [_error_entry(error, self.mask) for error in envelope.get('errors') or [] if isinstance(error, dict)]
        if status >= 400 or envelope.get('success') is False:
            detail = None if errors else 'Cloudflare gave no error details'
            raise CloudflareAPIError(operation, detail, status=status, reason=reason, errors=errors,
                                     retry_after=retry_after, outcome_unknown=status >= 500)
        if 'result' not in envelope:
            raise CloudflareAPIError(operation, 'the answer has no "result" field', status=status, reason=reason)
        return envelope['result']


def expect_record(result, operation, what):
    """A result that must be one object with an id; anything else after a success is an unknown outcome."""
    if not isinstance(result, dict) or not result.get('id'):
        raise CloudflareAPIError(operation, 'Cloudflare answered success without %s' % what, outcome_unknown=True)
    return result


def expect_records(result, operation, what):
    """A result that must be a list of objects; Cloudflare answers null for an empty list."""
    if result is None:
        return []
    if not isinstance(result, list):
        raise CloudflareAPIError(operation, 'Cloudflare answered success without a list of %s' % what)
    return [record for record in result if isinstance(record, dict)]


def default_user_agent():
    try:
        from ansible.module_utils.ansible_release import __version__ as ansible_version
    except ImportError:  # the module runs from an AnsiballZ payload where ansible.release may be absent
        ansible_version = 'unknown'
    return 'ansible-collection-cloudflare.pcap/%s (ansible-core %s; python %d.%d)' % (
        COLLECTION_VERSION, ansible_version, sys.version_info[0], sys.version_info[1])


def _error_entry(error, mask):
    entry = {'code': error.get('code'), 'message': mask(str(error.get('message', '')))}
    return entry


def _retry_after_seconds(response):
    """Retry-After as whole seconds, rounded up: either a number of seconds or an HTTP date."""
    seconds = _retry_after_wait(response.headers.get('Retry-After'))
    return None if seconds is None else int(math.ceil(seconds))


def _retry_after_wait(value):
    """Seconds from now that a Retry-After value (seconds, or an HTTP date) asks to wait; None when unreadable."""
    seconds, moment = _read_retry_after(value)
    if moment is not None:
        return max(0.0, moment - time.time())
    return seconds


def _retry_at(value):
    """When the wait of a Retry-After value ends: UTC, RFC 3339, whole seconds rounded up; None when unreadable."""
    seconds, moment = _read_retry_after(value)
    if moment is None:
        if seconds is None:
            return None
        moment = time.time() + seconds
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(math.ceil(moment)))


def _read_retry_after(value):
    """(seconds, None) for a number of seconds, (None, epoch time) for an HTTP date, (None, None) otherwise."""
    if value is None:
        return None, None
    value = value.strip()
    if _NUMBER.match(value):
        return max(0.0, float(value)), None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None, None
    if moment is None or moment.tzinfo is None:
        return None, None
    return None, moment.timestamp()


def _seconds(value):
    """A number of seconds for a message: whole when it is, else one decimal."""
    return '%d' % value if value == int(value) else '%.1f' % value


def parse_rate_limit(ratelimit, policy=None, at=0.0):
    """A RateLimit from the values of the ``Ratelimit`` and ``Ratelimit-Policy`` headers, or None.

    Both are structured-field lists (``"default";r=50;t=30, "burst";r=2;t=1``; ``"default";q=100;w=60``). Items
    without a readable r (integer >= 0) and t (number >= 0) are ignored, as are unreadable parameters. Of several
    limits, the one that is tightest (fewest requests per remaining second) is kept, with the policy of its name.
    """
    if not isinstance(ratelimit, str):
        return None
    policies = {}
    for name, params in _structured_list(policy) if isinstance(policy, str) else []:
        quota, window = params.get('q'), params.get('w')
        policies.setdefault(name, (quota if _is_count(quota) else None, window if _is_duration(window) else None))
    tightest = None
    for name, params in _structured_list(ratelimit):
        remaining, reset = params.get('r'), params.get('t')
        if not (_is_count(remaining) and _is_duration(reset)):
            continue
        quota, window = policies.get(name, (None, None))
        reading = RateLimit(name, remaining, float(reset), quota, None if window is None else float(window), at)
        if tightest is None or _tightness(reading) > _tightness(tightest):
            tightest = reading
    return tightest


def _tightness(reading):
    return (reading.remaining == 0, reading.reset / reading.remaining if reading.remaining else reading.reset)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_duration(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _structured_list(value):
    """[(name, {param: value})] from a structured-field list, leniently: what cannot be read is left out."""
    items = []
    for member in _split_outside_quotes(value, ','):
        parts = _split_outside_quotes(member, ';')
        name = _bare_item(parts[0])
        if name is None or isinstance(name, bool):
            continue
        params = {}
        for part in parts[1:]:
            key, equals, raw = part.partition('=')
            key = key.strip().lower()
            item = _bare_item(raw) if equals else True
            if key and item is not None:
                params.setdefault(key, item)
        items.append((name, params))
    return items


def _split_outside_quotes(text, separator):
    pieces, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == '\\':
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append(''.join(current))
            current = []
            continue
        current.append(char)
    pieces.append(''.join(current))
    return pieces


def _bare_item(text):
    """A structured-field bare item: string, integer, decimal, token or boolean; None when unreadable."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r'\\(.)', r'\1', text[1:-1])
    if _INTEGER.match(text):
        return int(text)
    if _NUMBER.match(text):
        return float(text)
    if text in ('?1', '?0'):
        return text == '?1'
    if _TOKEN.match(text):
        return text
    return None


def _describe_non_json(response, content_type):
    text = response.text[:4096] if response.content else ''
    if 'html' in content_type.lower() or text.lstrip().lower().startswith(('<!doctype html', '<html')):
        title = _HTML_TITLE.search(text)
        what = 'an HTML page%s' % (" ('%s')" % ' '.join(title.group(1).split())[:120] if title else '')
        hint = '; Cloudflare\'s edge answers like this when the API is unreachable or overloaded, retry later' \
            if response.status_code >= 500 else ''
        return 'Cloudflare answered with %s instead of JSON%s' % (what, hint)
    if not text.strip():
        return 'Cloudflare answered with an empty body instead of JSON'
    return 'Cloudflare answered with a body that is not valid JSON (Content-Type %s)' % (content_type or 'missing')


def _retry_cause(response, error):
    if response is not None and response.status:
        return 'HTTP %s' % response.status
    if isinstance(error, ConnectTimeoutError):
        return 'no connection'
    if isinstance(error, ReadTimeoutError):
        return 'a timeout'
    return 'a broken connection (%s)' % type(_root_cause(error)).__name__


def _root_cause(exc):
    """The innermost exception under requests' and urllib3's wrappers (MaxRetryError, ProtocolError...)."""
    cause = exc
    for _level in range(6):
        inner = getattr(cause, 'reason', None)
        if not isinstance(inner, BaseException):
            # ProtocolError('Connection aborted.', ConnectionResetError(...)) keeps its cause last.
            inner = next((arg for arg in reversed(cause.args) if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        cause = inner
    return cause


def _describe(cause):
    # urllib3 prefixes its messages with the connection object's repr; the reason after it is what helps.
    text = re.sub(r'^.*?(Connection|Pool)[^:]*\)?>?:\s*', '', str(cause), count=1) or type(cause).__name__
    return ' '.join(text.split())[:300]
