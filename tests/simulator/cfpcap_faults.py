# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Injected faults: rules that replace or delay the API's answers, for testing client resilience."""

import http
import re
import threading

import jsonschema

KINDS = ('status', 'html', 'malformed', 'reset', 'slow', 'empty')
DEFAULT_STATUS = {'status': 500, 'html': 502, 'malformed': 200, 'slow': 200, 'empty': 200, 'reset': None}
DEFAULT_SLOW_DELAY = 2.0
MAX_DELAY = 600.0

FAULT_SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'required': ['kind'],
    'properties': {
        'method': {'type': ['string', 'null']},
        'path': {'type': ['string', 'null']},
        'kind': {'enum': list(KINDS)},
        'times': {'type': 'integer', 'minimum': 1},
        'when': {'enum': ['before', 'after']},
        'status': {'type': ['integer', 'null'], 'minimum': 100, 'maximum': 599},
        'retry_after': {'type': ['integer', 'null'], 'minimum': 0},
        'delay': {'type': ['number', 'null'], 'minimum': 0, 'maximum': MAX_DELAY},
    },
}
_FAULT_VALIDATOR = jsonschema.Draft7Validator(FAULT_SCHEMA)

# Cloudflare's edge answers 52x (and some 50x) with an HTML page of this shape, not with the JSON envelope.
_HTML_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head>
<title>api.cloudflare.com | {status}: {reason}</title>
<meta charset="UTF-8" />
</head>
<body>
<div id="cf-wrapper">
<div id="cf-error-details" class="cf-error-details-wrapper">
<h1><span class="cf-error-type">Error</span> <span class="cf-error-code">{status}</span></h1>
<h2 class="cf-subheadline">{reason}</h2>
<p>Cloudflare Ray ID: <strong class="font-semibold">{ray}</strong> &bull; Performance &amp; security by Cloudflare</p>
</div>
</div>
</body>
</html>
"""
_EDGE_REASONS = {
    520: 'Web server is returning an unknown error',
    521: 'Web server is down',
    522: 'Connection timed out',
    523: 'Origin is unreachable',
    524: 'A timeout occurred',
}
# A JSON envelope cut off mid-way, as a proxy that drops the connection early would leave it.
MALFORMED_BODY = b'{"success": true, "errors": [], "messages": [], "result": {"id": "'


class FaultError(Exception):
    """A fault rule that cannot be used."""


def reason_phrase(status):
    if status in _EDGE_REASONS:
        return _EDGE_REASONS[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return 'Error'


def html_page(status, ray):
    return _HTML_PAGE.format(status=status, reason=reason_phrase(status), ray=ray).encode('utf-8')


class FaultRule:
    """One rule; `times` counts down as matching requests consume it."""

    def __init__(self, spec):
        error = next(iter(_FAULT_VALIDATOR.iter_errors(spec)), None) if isinstance(spec, dict) else None
        if not isinstance(spec, dict) or error is not None:
            raise FaultError('invalid fault %r: %s' % (spec, error.message if error is not None else 'not an object'))
        self.method = spec.get('method').upper() if spec.get('method') else None
        self.path = spec.get('path')
        try:
            self.pattern = re.compile(self.path) if self.path else None
        except re.error as exc:
            raise FaultError('invalid fault path regex %r: %s' % (self.path, exc)) from None
        self.kind = spec['kind']
        self.times = spec.get('times', 1)
        self.when = spec.get('when', 'before')
        status = spec.get('status')
        self.status = status if status is not None else DEFAULT_STATUS[self.kind]
        self.retry_after = spec.get('retry_after')
        delay = spec.get('delay')
        if delay is None:
            delay = DEFAULT_SLOW_DELAY if self.kind == 'slow' else 0.0
        self.delay = float(delay)

    def matches(self, method, path):
        if self.method is not None and self.method != method.upper():
            return False
        return self.pattern is None or self.pattern.search(path) is not None

    def to_dict(self):
        return {
            'method': self.method, 'path': self.path, 'kind': self.kind, 'times': self.times, 'when': self.when,
            'status': self.status, 'retry_after': self.retry_after, 'delay': self.delay,
        }


class FaultBook:
    """The list of active fault rules; the first matching rule wins."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    def add(self, specs):
        if not isinstance(specs, list):
            raise FaultError('"faults" must be a list')
        rules = [FaultRule(spec) for spec in specs]
        with self._lock:
            self._rules.extend(rules)
            return [rule.to_dict() for rule in self._rules]

    def clear(self):
        with self._lock:
            count = len(self._rules)
            self._rules = []
            return count

    def rules(self):
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def take(self, method, path):
        """Consume one use of the first rule matching the request and return it (a snapshot), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
        return None
