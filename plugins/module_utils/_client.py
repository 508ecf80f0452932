# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection: auth, base URL, TLS, timeouts, retries of safe methods,
Cloudflare's envelope, one error type. Private to cloudflare.pcap; the interface may change in any release."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import email.utils
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
RETRY_AFTER_CAP = 60.0
# No request keeps retrying for longer than this, whatever `retries` says.
RETRY_BUDGET = 120.0

MASK = '********'
_ID_PATTERN = re.compile(r'^[0-9a-fA-F]{32}$')
_ROUTE_WORD = re.compile(r'^[a-z]+$')
_HTML_TITLE = re.compile(r'<title[^>]*>(.*?)</title>', re.IGNORECASE | re.DOTALL)


def is_cloudflare_id(value):
    """Cloudflare account, capture and bucket ids are 32 hexadecimal characters."""
    return isinstance(value, str) and bool(_ID_PATTERN.match(value))


class CloudflareAPIError(Exception):
    """Every failure of a Cloudflare API call: HTTP status, Cloudflare error codes, and what was being done."""

    def __init__(self, operation, detail, status=None, reason=None, errors=None, retry_after=None, outcome_unknown=False):
        self.operation = operation
        self.detail = detail
        self.status = status
        self.reason = reason
        self.errors = errors or []
        self.retry_after = retry_after
        # True when the request may have been processed although no answer arrived (timeout, reset, 5xx).
        self.outcome_unknown = outcome_unknown
        super(CloudflareAPIError, self).__init__(self.message)

    @property
    def error_codes(self):
        return [error['code'] for error in self.errors if error.get('code') is not None]

    @property
    def message(self):
        details = []
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
        return result


class _SafeRetry(Retry):
    """urllib3 retries with full-jitter backoff, a capped Retry-After, a total time budget, and a callback per retry
    (for warnings)."""

    def __init__(self, *args, **kwargs):
        self.on_retry = kwargs.pop('on_retry', None)
        # When the first attempt of this request failed; urllib3 makes a new Retry per attempt via new().
        self.first_failure = kwargs.pop('first_failure', None)
        super(_SafeRetry, self).__init__(*args, **kwargs)

    def new(self, **kwargs):
        kwargs.setdefault('on_retry', self.on_retry)
        kwargs.setdefault('first_failure', self.first_failure or time.monotonic())
        return super(_SafeRetry, self).new(**kwargs)

    def get_backoff_time(self):
        # Full jitter (random between 0 and the exponential ceiling) spreads the retries of parallel jobs apart.
        attempts = len(self.history)
        if attempts <= 0:
            return 0
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempts - 1))))

    def get_retry_after(self, response):
        retry_after = super(_SafeRetry, self).get_retry_after(response)
        if retry_after is None:
            return None
        return min(retry_after, RETRY_AFTER_CAP)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        next_retry = super(_SafeRetry, self).increment(method, url, response, error, _pool, _stacktrace)
        if time.monotonic() - next_retry.first_failure > RETRY_BUDGET:
            raise MaxRetryError(_pool, url, error or ResponseError('retry time budget of %d s spent' % RETRY_BUDGET))
        if self.on_retry is not None:
            self.on_retry(method, url, _retry_cause(response, error), next_retry.total)
        return next_retry


class _CloudflareAuth(AuthBase):
    """Adds the credentials per request. Being an auth object also stops requests from taking ~/.netrc."""

    def __init__(self, headers):
        self.headers = headers

    def __call__(self, prepared_request):
        prepared_request.headers.update(self.headers)
        return prepared_request


class CloudflareClient:
    """Talks to Cloudflare's API v4 on behalf of one account."""

    def __init__(self, account_id, base_url=DEFAULT_BASE_URL, api_token=None, api_email=None, api_key=None,
                 timeout=30, validate_certs=True, retries=3, on_retry=None, user_agent=None):
        if not is_cloudflare_id(account_id):
            # The module validates first and names the option; this guards direct use of the client.
            raise ValueError('account_id must be 32 hexadecimal characters')
        self.account_id = account_id
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
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
            respect_retry_after_header=True, raise_on_status=False, on_retry=on_retry,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount('https://', adapter)
        self.session.mount('http://', adapter)

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
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout, stream=stream,
                                            headers=headers, allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(method, operation, exc)
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
    """Retry-After as whole seconds: either a number of seconds or an HTTP date."""
    value = response.headers.get('Retry-After')
    if value is None:
        return None
    try:
        return max(0, int(float(value)))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0, int((moment - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 0.999))


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
