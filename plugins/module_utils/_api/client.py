# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client of the collection: auth, base URL, TLS, timeouts, retries (the policy is in retry.py),
Cloudflare's envelope -> result or CloudflareAPIError, and the latest rate-limit reading (rate_limit.py). Private to
cloudflare.pcap; the interface may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import re
import sys
import time
import traceback
from urllib.parse import urlsplit

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import MASK, CloudflareAPIError
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.rate_limit import DEFAULT_PACING, pace, read_rate_limit
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.retry import (
    BROKEN_CONNECTION,
    NO_CONNECTION,
    OTHER_FAILURE,
    SAFE_METHODS,
    RetryPolicy,
    RetryRefused,
    beyond_cap,
    is_lock_out,
    retry_after_seconds,
    retry_at,
)

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.auth import AuthBase
    from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError
except ImportError:
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    AuthBase = object

COLLECTION_VERSION = '0.1.0'
DEFAULT_BASE_URL = 'https://api.cloudflare.com/client/v4'

_ID_PATTERN = re.compile(r'^[0-9a-fA-F]{32}$')
_ROUTE_WORD = re.compile(r'^[a-z]+$')
_HTML_TITLE = re.compile(r'<title[^>]*>(.*?)</title>', re.IGNORECASE | re.DOTALL)


def is_cloudflare_id(value):
    """Cloudflare account, capture and bucket ids are 32 hexadecimal characters."""
    return isinstance(value, str) and bool(_ID_PATTERN.match(value))


class _CloudflareAuth(AuthBase):
    """Adds the credentials per request. Being an auth object also stops requests from taking ~/.netrc."""

    def __init__(self, headers):
        self.headers = headers

    def __call__(self, prepared_request):
        prepared_request.headers.update(self.headers)
        return prepared_request


class CloudflareClient:
    """Talks to Cloudflare's API v4 on behalf of one account.

    `clock` (monotonic seconds) and `sleep` are what the retries use and what rate-limit readings are timed by;
    tests inject fakes.

    - ``request(..., deadline=...)``: retries of that request never wait past min(its first failure + RETRY_BUDGET,
      deadline); ``until(deadline)`` gives the client with that deadline on every request (the polls of one wait).
    - ``rate_limit``: the latest RateLimit read from an answer's headers, or None when no answer had them.
    - ``pause()``: the seconds to wait before the next request so that the credential's quota keeps its reserve
      (rate_limit.pace of the latest reading with the client's `pacing` and `jitter_source`); every request waits them
      first, and a request whose deadline comes before they end fails without being sent.
    """

    def __init__(self, account_id, base_url=DEFAULT_BASE_URL, api_token=None, api_email=None, api_key=None,
                 timeout=30, validate_certs=True, retries=3, on_retry=None, user_agent=None,
                 clock=time.monotonic, sleep=time.sleep, pacing=DEFAULT_PACING, jitter_source=random.random):
        if not is_cloudflare_id(account_id):
            # The module validates first and names the option; this guards direct use of the client.
            raise ValueError('account_id must be 32 hexadecimal characters')
        self.account_id = account_id
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
        self.retries = retries
        self.on_retry = on_retry
        self.clock = clock
        self.sleep = sleep
        self.rate_limit = None
        self.pacing = pacing
        self.jitter_source = jitter_source
        self._secrets = [secret for secret in (api_token, api_key) if secret]
        # The session's own adapters do not retry (RetryPolicy decides here, in request()).
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

    def until(self, deadline):
        """This client with `deadline` (monotonic time of `clock`) given to every request and download."""
        return _WithDeadline(self, deadline)

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

    def request(self, method, path, operation, body=None, stream=False, accept=None, deadline=None):
        """Send one request; return the envelope's `result`, or the raw response when `stream` is set.

        Failed attempts are retried as RetryPolicy says, never waiting past `deadline` (monotonic time of `clock`;
        None: only RETRY_BUDGET). Raises CloudflareAPIError for anything but a successful answer.
        """
        url = self.base_url + path
        headers = {'Accept': accept} if accept else None
        retries = RetryPolicy(method, self.retries, self.clock, deadline)
        while True:
            self._keep_the_reserve(operation, deadline)
            try:
                # Streamed always, so that a failure while reading the body (after the answer came) is never retried.
                response = self.session.request(method, url, json=body, timeout=self.timeout, stream=True,
                                                headers=headers, allow_redirects=False)
            except requests.exceptions.RequestException as exc:
                error = self._transport_error(method, operation, exc)
                try:
                    wait = retries.wait_after(failure=_failure_kind(exc))
                except RetryRefused as refused:
                    error.add_detail(refused.detail)
                    raise error
                if wait is None:
                    raise error
                self._before_retry(method, url, _retry_cause(exc), retries.left, wait)
                continue
            self._read_rate_limit(response.headers)
            refused = None
            try:
                wait = retries.wait_after(status=response.status_code, retry_after=response.headers.get('Retry-After'))
            except RetryRefused as refusal:
                refused, wait = refusal, None
            if wait is None:
                break
            _drain(response)
            self._before_retry(method, url, 'HTTP %s' % response.status_code, retries.left, wait)
        if stream and response.status_code == 200:
            return response
        try:
            try:
                response.content  # pylint: disable=pointless-statement
            except requests.exceptions.RequestException as exc:
                raise self._transport_error(method, operation, exc)
            return self._parse(response, operation, refused)
        finally:
            response.close()

    def download(self, path, operation, write, accept, deadline=None):
        """Stream a binary answer into write(chunk), without holding it in memory. Returns the bytes written."""
        response = self.request('GET', path, operation, stream=True, accept=accept, deadline=deadline)
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

    def pause(self):
        """Seconds to wait before the next request (rate_limit.pace of the latest reading, jitter included)."""
        return pace(self.rate_limit, self.clock(), self.jitter_source, self.pacing)

    def _keep_the_reserve(self, operation, deadline):
        pause = self.pause()
        if pause <= 0:
            return
        late_by = None if deadline is None else self.clock() + pause - deadline
        if late_by is not None and late_by > 0:
            raise CloudflareAPIError(operation, "not sent: the credential's rate-limit quota is down to the reserve left "
                                     'to its other users, and resets %d s after this request\'s deadline' % late_by)
        self.sleep(pause)

    def _read_rate_limit(self, headers):
        reading = read_rate_limit(headers, self.clock())
        if reading is not None:
            self.rate_limit = reading

    def _before_retry(self, method, url, cause, retries_left, wait):
        if self.on_retry is not None:
            self.on_retry(method, urlsplit(url).path, cause, retries_left)
        if wait > 0:
            self.sleep(wait)

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

    def _parse(self, response, operation, refused=None):
        try:
            return self._parse_envelope(response, operation)
        except CloudflareAPIError as error:
            if error.retry_after is not None:
                error.retry_at = retry_at(response.headers.get('Retry-After'))
            refusal = refused.detail if refused else None
            if is_lock_out(error.status, error.retry_after, refused is not None and refused.retry_after_refused):
                # Waiting would not help within this task: say until when the credential is refused, at once.
                error.locked_out = True
                if beyond_cap(error.retry_after):
                    refusal = None  # the lock-out says it all
            if refusal:
                error.add_detail(refusal)
            raise

    def _parse_envelope(self, response, operation):
        status = response.status_code
        reason = response.reason
        retry_after = retry_after_seconds(response.headers.get('Retry-After'))
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


def _drain(response):
    """Read what is left of an answer that will not be used, so that its connection can serve the next try."""
    try:
        response.content  # pylint: disable=pointless-statement
    except requests.exceptions.RequestException:
        pass  # the next try opens a new connection
    finally:
        response.close()


class _WithDeadline:
    """A CloudflareClient whose requests and downloads all get one deadline (see CloudflareClient.until)."""

    def __init__(self, client, deadline):
        self._client = client
        self.deadline = deadline

    def request(self, *args, **kwargs):
        return self._client.request(*args, deadline=self.deadline, **kwargs)

    def download(self, *args, **kwargs):
        return self._client.download(*args, deadline=self.deadline, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def _failure_kind(exc):
    """How an attempt failed without an answer (retry.NO_CONNECTION, BROKEN_CONNECTION or OTHER_FAILURE)."""
    causes = _causes(exc)
    if any(isinstance(cause, ConnectTimeoutError) for cause in causes):  # NewConnectionError is one too
        return NO_CONNECTION
    if any(isinstance(cause, (ReadTimeoutError, ProtocolError)) for cause in causes):
        return BROKEN_CONNECTION
    return OTHER_FAILURE


def _retry_cause(exc):
    causes = _causes(exc)
    if any(isinstance(cause, ConnectTimeoutError) for cause in causes):
        return 'no connection'
    if any(isinstance(cause, ReadTimeoutError) for cause in causes):
        return 'a timeout'
    return 'a broken connection (%s)' % type(causes[-1]).__name__


def _root_cause(exc):
    """The innermost exception under requests' and urllib3's wrappers (MaxRetryError, ProtocolError...)."""
    return _causes(exc)[-1]


def _causes(exc):
    """The exception and the ones it wraps, outermost first."""
    causes = [exc]
    for _level in range(6):
        cause = causes[-1]
        inner = getattr(cause, 'reason', None)
        if not isinstance(inner, BaseException):
            # ProtocolError('Connection aborted.', ConnectionResetError(...)) keeps its cause last.
            inner = next((arg for arg in reversed(cause.args) if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        causes.append(inner)
    return causes


def _describe(cause):
    # urllib3 prefixes its messages with the connection object's repr; the reason after it is what helps.
    text = re.sub(r'^.*?(Connection|Pool)[^:]*\)?>?:\s*', '', str(cause), count=1) or type(cause).__name__
    return ' '.join(text.split())[:300]
