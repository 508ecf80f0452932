# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error type of a Cloudflare API call, and the checks of a successful answer's result. Private to
cloudflare.pcap; the interface may change in any release."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# What a secret is replaced with wherever it could be shown.
MASK = '********'


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
