# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for unit tests: a scriptable HTTP server on loopback, and a way to run a module's main() in the test process."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
import yaml

from ansible.module_utils import basic

ACCOUNT_ID = '023e105f4ecef8ad9ca31a8372d0c353'
CAPTURE_ID = '66802ca5668e47a2b82c2e6746e45037'
TOKEN = 'unit-test-token-0123456789abcdef0123456789'


def envelope(result=None, success=True, errors=None):
    return {'success': success, 'errors': errors or [], 'messages': [], 'result': result}


class Reply:
    """One scripted answer. kind: json (default), raw (body bytes as given), reset (abort the connection), slow."""

    def __init__(self, status=200, body=None, headers=None, kind='json', delay=0.0):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.kind = kind
        self.delay = delay


class StubAPI:
    """Answers requests in the order scripted; records every request it received.

    `headers` are sent with every answer (e.g. Cloudflare's Ratelimit and Ratelimit-Policy); a reply's own headers
    (e.g. Retry-After) win over them.
    """

    def __init__(self):
        self.replies = []
        self.requests = []
        self.headers = {}
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(length) if length else b''
                with stub.lock:
                    stub.requests.append({
                        'method': self.command, 'path': self.path, 'headers': dict(self.headers),
                        'body': json.loads(raw) if raw else None,
                    })
                    reply = stub.replies.pop(0) if stub.replies else Reply(500, envelope(None, False, [
                        {'code': 9999, 'message': 'stub has no scripted reply'}]))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.kind == 'reset':
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                if reply.kind == 'raw':
                    data = reply.body if isinstance(reply.body, bytes) else str(reply.body).encode()
                    content_type = reply.headers.get('Content-Type', 'text/html')
                elif reply.status == 204:
                    data, content_type = b'', None
                else:
                    data, content_type = json.dumps(reply.body).encode(), 'application/json'
                self.send_response(reply.status)
                if content_type:
                    self.send_header('Content-Type', content_type)
                for name, value in dict(stub.headers, **reply.headers).items():
                    if name != 'Content-Type':
                        self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return 'http://127.0.0.1:%d/client/v4' % self.server.server_address[1]

    def add(self, *replies):
        self.replies.extend(replies)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def module_args(args):
    """Hand `args` to AnsibleModule, on every supported ansible-core version."""
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
    except ImportError:
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    with mock.patch.object(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode()):
        yield


@contextlib.contextmanager
def as_module_process():
    """A module runs in its own process, where ansible-core 2.19+ returns warnings with the result; in a test
    process that has imported controller code (the action plugin tests) it would display them instead."""
    from ansible.module_utils.common import warnings
    # Warnings collected by earlier runs in this test process would otherwise join this run's result.
    with mock.patch.object(warnings, '_global_warnings', type(warnings._global_warnings)()), \
            mock.patch.object(warnings, '_global_deprecations', type(warnings._global_deprecations)()):
        try:
            from ansible.module_utils import _internal
        except ImportError:  # ansible-core < 2.18
            _internal = None
        if not hasattr(_internal, 'is_controller'):  # ansible-core < 2.19 (2.18 has the package, not the flag)
            yield
            return
        with mock.patch.object(_internal, 'is_controller', False):
            yield


def warning_texts(result):
    """The messages of a result's warnings: strings before ansible-core 2.19, WarningSummary structures (or their
    dicts) after."""
    return [warning if isinstance(warning, str) else warning['event']['msg'] if isinstance(warning, dict)
            else warning.event.msg for warning in result.get('warnings', [])]


def run_module(main, args, capsys):
    """Run a module's main() as in a module's process; return (failed, result) from the JSON it prints."""
    with module_args(args), as_module_process():
        with pytest.raises(SystemExit) as exited:
            main()
    result = json.loads(capsys.readouterr().out)
    return exited.value.code != 0, result


# Keys that AnsibleModule itself adds to every result.
STANDARD_KEYS = frozenset(('changed', 'msg', 'failed', 'invocation', 'warnings', 'deprecations', 'exception'))
DOC_TYPES = {'str': str, 'dict': dict, 'list': list, 'int': int, 'float': (float, int), 'bool': bool}


def assert_matches_return_docs(module, result, outcome):
    """Every key of the result is documented in RETURN with the right type, and every key that RETURN
    promises for `outcome` ('success', 'failure', 'check mode', ...) is there."""
    documented = yaml.safe_load(module.RETURN)
    returned = set(result) - STANDARD_KEYS
    undocumented = returned - set(documented)
    assert not undocumented, 'returned but not in RETURN: %s' % sorted(undocumented)
    for key in returned:
        assert result[key] is None or isinstance(result[key], DOC_TYPES[documented[key]['type']]), key
    promised = {key for key, doc in documented.items() if doc['returned'] == 'always' or doc['returned'] == outcome}
    missing = promised - returned
    assert not missing, 'RETURN promises %s for %r but the result lacks them' % (sorted(missing), outcome)


def untagged(result):
    """The result as the controller reads it: ansible-core 2.19+ prints a value that a module tagged (a deprecated
    return value, such as capture_request's pcap) as {"__ansible_type": "_AnsibleTagged...", "value": ...}, and the
    controller decodes that back to the value, which is also what the in-process runner returns."""
    def value_of(value):
        if isinstance(value, dict) and str(value.get('__ansible_type', '')).startswith('_AnsibleTagged'):
            return value['value']
        return value
    return {key: value_of(value) for key, value in result.items()}
