# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP layer of the simulator: routing, authentication, the JSON envelope, faults and the admin API."""

import hmac
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cfpcap_faults import MALFORMED_BODY, FaultBook, FaultError, html_page, reason_phrase
from cfpcap_rules import CREATE_PATH, RequestRejected, check_body, check_create_body
from cfpcap_spec import API_PREFIX
from cfpcap_buckets import rfc3339
from cfpcap_state import ApiError, ConfigError, SimState

ADMIN_PREFIX = '/__sim/'
# How long a reset waits for API requests in flight before it resets anyway (they are cut short, so this is a bound
# for a stuck request, not a wait anybody sees).
RESET_WAIT_SECONDS = 30.0
MAX_BODY_BYTES = 1024 * 1024
_HEX32 = re.compile(r'^[0-9a-f]{32}$')

CODE_INVALID_JSON = 1000
CODE_BAD_AUTH_FORMAT = 6111
CODE_INVALID_HEADERS = 6003
CODE_NO_ROUTE = 7000
CODE_BAD_IDENTIFIER = 7003
CODE_UNKNOWN_KEY = 9103
CODE_MISSING_AUTH = 9106
CODE_AUTH_ERROR = 10000
CODE_METHOD_NOT_ALLOWED = 10405

OWNERSHIP_PATH = '/accounts/{account_id}/pcaps/ownership'
VALIDATE_PATH = '/accounts/{account_id}/pcaps/ownership/validate'
OWNERSHIP_ITEM_PATH = '/accounts/{account_id}/pcaps/ownership/{ownership_id}'
CAPTURE_PATH = '/accounts/{account_id}/pcaps/{pcap_id}'
DOWNLOAD_PATH = '/accounts/{account_id}/pcaps/{pcap_id}/download'
STOP_PATH = '/accounts/{account_id}/pcaps/{pcap_id}/stop'

# First match wins, so the literal "ownership" segments come before the {pcap_id} routes.
ROUTES = (
    (re.compile(r'^/accounts/([^/]+)/pcaps$'), CREATE_PATH, {'GET': 'list_captures', 'POST': 'create_capture'}),
    (re.compile(r'^/accounts/([^/]+)/pcaps/ownership$'), OWNERSHIP_PATH, {'GET': 'list_buckets', 'POST': 'add_bucket'}),
    (re.compile(r'^/accounts/([^/]+)/pcaps/ownership/validate$'), VALIDATE_PATH, {'POST': 'validate_bucket'}),
    (re.compile(r'^/accounts/([^/]+)/pcaps/ownership/([^/]+)$'), OWNERSHIP_ITEM_PATH, {'DELETE': 'delete_bucket'}),
    (re.compile(r'^/accounts/([^/]+)/pcaps/([^/]+)$'), CAPTURE_PATH, {'GET': 'get_capture'}),
    (re.compile(r'^/accounts/([^/]+)/pcaps/([^/]+)/download$'), DOWNLOAD_PATH, {'GET': 'download_capture'}),
    (re.compile(r'^/accounts/([^/]+)/pcaps/([^/]+)/stop$'), STOP_PATH, {'PUT': 'stop_capture'}),
)


class Response:
    """An HTTP answer; `reset` asks the handler to drop the connection instead of answering."""

    def __init__(self, status, body=b'', content_type=None, headers=None, reset=False):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.reset = reset


def json_response(status, document, headers=None):
    return Response(status, json.dumps(document).encode('utf-8'), 'application/json', headers)


def envelope_success(result, result_info=None, status=200):
    document = {'success': True, 'errors': [], 'messages': [], 'result': result}
    if result_info is not None:
        document['result_info'] = result_info
    return json_response(status, document)


def envelope_failure(status, errors, retry_after=None):
    """errors: [(code, message), ...]."""
    document = {
        'success': False,
        'errors': [{'code': code, 'message': message} for code, message in errors],
        'messages': [],
        'result': None,
    }
    headers = {'Retry-After': str(retry_after)} if retry_after is not None else None
    return json_response(status, document, headers)


def list_info(items):
    # The contract has no paging parameters: one page, and result_info describes what it holds (list_limit may
    # have cut the list; no source says what Cloudflare's result_info says then).
    return {'count': len(items), 'page': 1, 'per_page': len(items), 'total_count': len(items)}


class InFlight:
    """Counts the API requests being answered, so that a reset can wait for them (and wake their fault delays).

    Without it a request delayed by a `slow` fault could finish after a reset and log itself (or create a capture)
    in the state that the reset had just cleared.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._count = 0
        self._resetting = False
        # Set while a reset waits, and for good once the simulator stops: fault delays wait on it.
        self.wake = threading.Event()

    def enter(self):
        with self._condition:
            while self._resetting:
                self._condition.wait()
            self._count += 1

    def leave(self):
        with self._condition:
            self._count -= 1
            self._condition.notify_all()

    def quiesced(self, action, stopping):
        """Run action with no API request in flight; new requests wait until it is done."""
        with self._condition:
            while self._resetting:
                self._condition.wait()
            self._resetting = True
            self.wake.set()
            deadline = time.monotonic() + RESET_WAIT_SECONDS
            while self._count and time.monotonic() < deadline:
                self._condition.wait(deadline - time.monotonic())
        try:
            return action()
        finally:
            with self._condition:
                self._resetting = False
                if not stopping.is_set():
                    self.wake.clear()
                self._condition.notify_all()


class Credentials:
    """The tokens and the global key that the simulator accepts."""

    def __init__(self, tokens, email, key):
        self.tokens = tuple(tokens)
        self.email = email
        self.key = key

    @staticmethod
    def kind(headers):
        """How the request tries to authenticate, for the request log (never the values)."""
        if headers.get('Authorization'):
            return 'bearer'
        if headers.get('X-Auth-Email') or headers.get('X-Auth-Key'):
            return 'global_key'
        return None

    def check(self, headers):
        """Raise ApiError unless the headers carry valid credentials."""
        authorization = headers.get('Authorization')
        if authorization:
            scheme, _space, token = authorization.strip().partition(' ')
            if scheme.lower() != 'bearer' or not token.strip():
                raise ApiError(400, CODE_INVALID_HEADERS, 'Invalid request headers',
                               details=[(CODE_BAD_AUTH_FORMAT, 'Invalid format for Authorization header')])
            if not any(hmac.compare_digest(token.strip(), known) for known in self.tokens):
                raise ApiError(403, CODE_AUTH_ERROR, 'Authentication error')
            return
        email = headers.get('X-Auth-Email')
        key = headers.get('X-Auth-Key')
        if not email or not key:
            raise ApiError(400, CODE_MISSING_AUTH, 'Missing X-Auth-Key, X-Auth-Email or Authorization headers')
        if not (hmac.compare_digest(email, self.email) and hmac.compare_digest(key, self.key)):
            raise ApiError(403, CODE_UNKNOWN_KEY, 'Unknown X-Auth-Key or X-Auth-Email')


class Simulator:
    """The simulated API, independent of the socket handling."""

    def __init__(self, contract, credentials, accounts, clock_speed, quiet=True, challenge_dir=None):
        self.contract = contract
        self.credentials = credentials
        self.state = SimState(accounts, clock_speed, challenge_dir)
        self.faults = FaultBook()
        self.quiet = quiet
        self.stopping = threading.Event()
        self.in_flight = InFlight()

    def request_stop(self):
        """Stop: the serving loop ends, and fault delays in progress are cut short."""
        self.stopping.set()
        self.in_flight.wake.set()

    # API requests

    def handle_api(self, method, path, query, headers, raw_body):
        """Answer one request under /client/v4; path is the part after that prefix."""
        self.in_flight.enter()
        try:
            return self._handle_api(method, path, query, headers, raw_body)
        finally:
            self.in_flight.leave()

    def _handle_api(self, method, path, query, headers, raw_body):
        body, body_error = _parse_body(raw_body)
        fault = self.faults.take(method, path)
        if fault is not None and fault.when == 'before':
            response = self._fault_response(fault)
            if fault.kind == 'slow':
                response = self._answer(method, path, headers, body, body_error)
        else:
            response = self._answer(method, path, headers, body, body_error)
            if fault is not None:
                real_response = response
                response = self._fault_response(fault)
                if fault.kind == 'slow':
                    response = real_response
        self.state.log_request({
            'method': method,
            'path': API_PREFIX + path,
            'query': query,
            'auth': Credentials.kind(headers),
            'body': redact_for_log(body),
            'status': None if response.reset else response.status,
            'fault': fault.kind if fault is not None else None,
            'time': rfc3339(self.state.now()),
        })
        return response

    def _fault_response(self, fault):
        if fault.delay > 0:
            # Interruptible: neither a shutdown nor a reset waits for a slow fault.
            self.in_flight.wake.wait(fault.delay)
        if fault.kind == 'status':
            message = 'Rate limited. Please wait and consider throttling your request speed' if fault.status == 429 \
                else reason_phrase(fault.status)
            return envelope_failure(fault.status, [(10000 + fault.status, message)], fault.retry_after)
        headers = {'Retry-After': str(fault.retry_after)} if fault.retry_after is not None else None
        if fault.kind == 'html':
            return Response(fault.status, html_page(fault.status, _ray_id()), 'text/html; charset=UTF-8', headers)
        if fault.kind == 'malformed':
            return Response(fault.status, MALFORMED_BODY, 'application/json', headers)
        if fault.kind == 'empty':
            return Response(fault.status, b'', 'application/json', headers)
        if fault.kind == 'reset':
            return Response(0, reset=True)
        return None  # slow: the caller answers normally

    def _answer(self, method, path, headers, body, body_error):
        extra_headers = {}
        try:
            response = self._route(method, path, headers, body, body_error, extra_headers)
        except ApiError as exc:
            response = envelope_failure(exc.status, [(exc.code, exc.message)] + list(exc.details), exc.retry_after)
            extra_headers.update(exc.headers)
        # The rate-limit headers go on every answer, success or error, of a request that was counted.
        response.headers.update(extra_headers)
        return response

    def _route(self, method, path, headers, body, body_error, extra_headers):
        for pattern, template, handlers in ROUTES:
            match = pattern.match(path)
            if match is not None:
                break
        else:
            raise ApiError(404, CODE_NO_ROUTE, 'No route for that URI')
        if method not in handlers:
            raise ApiError(405, CODE_METHOD_NOT_ALLOWED, 'Method %s not allowed for this route' % method)
        identifiers = match.groups()
        if not all(_HEX32.match(identifier) for identifier in identifiers):
            raise ApiError(400, CODE_BAD_IDENTIFIER,
                           'Could not route to %s, perhaps your object identifier is invalid?' % path,
                           details=[(CODE_NO_ROUTE, 'No route for that URI')])
        self.credentials.check(headers)
        account_id = identifiers[0]
        if account_id not in self.state.accounts:
            raise ApiError(403, CODE_AUTH_ERROR, 'Authentication error')
        extra_headers.update(self.state.count_request(account_id))

        if self.contract.request_validator(template, method) is not None:
            if body_error is not None:
                raise ApiError(400, CODE_INVALID_JSON, body_error)
            try:
                if template == CREATE_PATH:
                    check_create_body(self.contract, body, self.state.now())
                else:
                    check_body(self.contract, template, method, body)
            except RequestRejected as exc:
                raise ApiError(400, exc.code, exc.message) from None
        return getattr(self, '_op_' + handlers[method])(account_id, identifiers[1:], body)

    # One method per contract operation.

    def _op_list_captures(self, account_id, _ids, _body):
        captures = self.state.list_captures(account_id)
        return envelope_success(captures, list_info(captures))

    def _op_create_capture(self, account_id, _ids, body):
        return envelope_success(self.state.create_capture(account_id, body))

    def _op_get_capture(self, account_id, ids, _body):
        return envelope_success(self.state.get_capture(account_id, ids[0]))

    def _op_download_capture(self, account_id, ids, _body):
        filename, pcap = self.state.download_capture(account_id, ids[0])
        return Response(200, pcap, 'application/vnd.tcpdump.pcap',
                        {'Content-Disposition': 'attachment; filename="%s"' % filename})

    def _op_stop_capture(self, account_id, ids, _body):
        return Response(self.state.stop_capture(account_id, ids[0]))

    def _op_list_buckets(self, account_id, _ids, _body):
        buckets = self.state.list_buckets(account_id)
        return envelope_success(buckets, list_info(buckets))

    def _op_add_bucket(self, account_id, _ids, body):
        return envelope_success(self.state.add_bucket(account_id, body['destination_conf']))

    def _op_validate_bucket(self, account_id, _ids, body):
        return envelope_success(self.state.validate_bucket(account_id, body['destination_conf'],
                                                           body['ownership_challenge']))

    def _op_delete_bucket(self, account_id, ids, _body):
        self.state.delete_bucket(account_id, ids[0])
        return Response(204)

    # Admin API: no auth, no request log, no limits, no faults.

    def handle_admin(self, method, path, raw_body):
        body, body_error = _parse_body(raw_body)
        if raw_body and body_error is not None:
            return json_response(400, {'ok': False, 'error': body_error})
        name = path[len(ADMIN_PREFIX):].strip('/')
        handler = getattr(self, '_admin_%s_%s' % (method.lower(), name), None) if re.match(r'^\w+$', name) else None
        if handler is None:
            return json_response(404, {'ok': False, 'error': 'no admin endpoint %s %s' % (method, path)})
        try:
            return json_response(200, handler(body))
        except (ConfigError, FaultError, ValueError) as exc:
            return json_response(400, {'ok': False, 'error': str(exc)})

    def _admin_get_health(self, _body):
        return {'ok': True}

    def _admin_post_reset(self, _body):
        def reset():
            self.state.reset()
            self.faults.clear()
        # Requests in flight finish (their fault delays cut short) before the state is cleared, and new ones wait.
        self.in_flight.quiesced(reset, self.stopping)
        return {'ok': True}

    def _admin_get_config(self, _body):
        with self.state.lock:
            return dict(self.state.config)

    def _admin_post_config(self, body):
        return self.state.update_config(body if body is not None else {})

    def _admin_get_clock(self, _body):
        return {'now': rfc3339(self.state.now()), 'epoch': self.state.now(), 'speed': self.state.clock.speed}

    def _admin_post_clock(self, body):
        seconds = (body or {}).get('advance', 0) if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError('"advance" must be a number of seconds >= 0')
        return {'now': rfc3339(self.state.clock.advance(seconds)), 'epoch': self.state.now()}

    def _admin_get_faults(self, _body):
        return self.faults.rules()

    def _admin_post_faults(self, body):
        if not isinstance(body, dict) or 'faults' not in body:
            raise FaultError('expected {"faults": [...]}')
        return self.faults.add(body['faults'])

    def _admin_delete_faults(self, _body):
        return {'ok': True, 'cleared': self.faults.clear()}

    def _admin_get_requests(self, _body):
        return self.state.logged_requests()

    def _admin_delete_requests(self, _body):
        with self.state.lock:
            self.state.request_log.clear()
        return {'ok': True}

    def _admin_get_captures(self, _body):
        return self.state.all_captures()

    def _admin_get_buckets(self, _body):
        return self.state.all_buckets()

    def _admin_post_buckets(self, body):
        """Register a bucket directly: {"destination_conf": URI, "validated": bool, "account_id": optional}."""
        if not isinstance(body, dict) or not isinstance(body.get('destination_conf'), str):
            raise ValueError('expected {"destination_conf": "...", "validated": true|false}')
        unknown = sorted(set(body) - {'destination_conf', 'validated', 'account_id'})
        if unknown:
            raise ValueError('unknown keys %s' % ', '.join(unknown))
        validated = body.get('validated', False)
        if not isinstance(validated, bool):
            raise ValueError('"validated" must be a boolean')
        account_id = body.get('account_id', self.state.accounts[0])
        if account_id not in self.state.accounts:
            raise ValueError('unknown account %r' % (account_id,))
        try:
            return self.state.seed_bucket(account_id, body['destination_conf'], validated)
        except ApiError as exc:
            raise ValueError(exc.message) from None


def redact_for_log(body):
    """The body with destination_conf's query masked: bucket URIs can carry access keys (r2://b?secret-access-key=...)."""
    if not isinstance(body, dict):
        return body
    destination_conf = body.get('destination_conf')
    if isinstance(destination_conf, str) and '?' in destination_conf:
        body = dict(body, destination_conf=destination_conf.split('?', 1)[0] + '?********')
    return body


def _parse_body(raw_body):
    """(parsed JSON or None, error message or None)."""
    if not raw_body:
        return None, 'Request body is required and must be JSON'
    try:
        return json.loads(raw_body.decode('utf-8')), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, 'Request body is not valid JSON: %s' % exc


def _ray_id():
    return secrets.token_hex(8) + '-SIM'


class SimRequestHandler(BaseHTTPRequestHandler):
    """Socket side: read the request, ask the Simulator, write the answer (or reset the connection)."""

    protocol_version = 'HTTP/1.1'
    server_version = 'cfpcap-sim'

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    @property
    def simulator(self):
        return self.server.simulator

    def _dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        raw_body = self._read_body()
        if raw_body is None:
            self._send(envelope_failure(400, [(CODE_INVALID_JSON, 'Request body too large or badly framed')]))
            self.close_connection = True
            return
        if path.startswith(ADMIN_PREFIX):
            self._send(self.simulator.handle_admin(self.command, path, raw_body))
            return
        if path == API_PREFIX or path.startswith(API_PREFIX + '/'):
            query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            response = self.simulator.handle_api(self.command, path[len(API_PREFIX):], query, self.headers, raw_body)
        else:
            response = envelope_failure(404, [(CODE_NO_ROUTE, 'No route for that URI')])
        if not self.simulator.quiet:
            self.log_message('"%s %s" %s', self.command, path, 'RESET' if response.reset else response.status)
        if response.reset:
            self._reset_connection()
        else:
            self._send(response)

    def _read_body(self):
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            return None
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b''

    def _send(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            # 204 has no body by definition; every other answer is framed so keep-alive clients stay in sync.
            if response.content_type:
                self.send_header('Content-Type', response.content_type)
            self.send_header('Content-Length', str(len(response.body)))
        self.send_header('cf-ray', _ray_id())
        self.end_headers()
        if response.status != 204 and response.body:
            self.wfile.write(response.body)

    def _reset_connection(self):
        # SO_LINGER (on, 0 s) makes close() send a TCP RST: the client sees "connection reset", not a clean EOF.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass  # the connection was reset on purpose, or by the client

    def log_request(self, code='-', size='-'):
        pass  # _dispatch logs API requests itself; admin requests are never logged

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if not self.simulator.quiet:
            sys.stderr.write('cfpcap-sim %s %s\n' % (self.log_date_time_string(), format % args))


class SimHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the Simulator for its handlers."""

    daemon_threads = True

    def __init__(self, address, simulator):
        self.simulator = simulator
        super().__init__(address, SimRequestHandler)

    def handle_error(self, request, client_address):
        # Clients that time out or hang up (the point of the slow and reset faults) are not server errors.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)
