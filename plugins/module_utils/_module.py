# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of every cloudflare.pcap module: common options and their constraints, value checks, the client, error
reporting.
Private to cloudflare.pcap; the interface may change in any release."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import ipaddress
import os
import re
import stat
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import (
    DEFAULT_BASE_URL,
    REQUESTS_IMPORT_ERROR,
    CloudflareClient,
    is_cloudflare_id,
)
from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import CloudflareAPIError

# Declared once for every module; documented in plugins/doc_fragments/common.py (kept in sync by sanity tests).
COMMON_ARGUMENT_SPEC = dict(
    api_token=dict(type='str', no_log=True, fallback=(env_fallback, ['CLOUDFLARE_API_TOKEN'])),
    # A path, not a secret: the token stays out of the environment, which ansible-runner writes to disk.
    api_token_file=dict(type='path', no_log=False, fallback=(env_fallback, ['CLOUDFLARE_API_TOKEN_FILE'])),
    api_email=dict(type='str', fallback=(env_fallback, ['CLOUDFLARE_EMAIL'])),
    api_key=dict(type='str', no_log=True, fallback=(env_fallback, ['CLOUDFLARE_API_KEY'])),
    # Required, through the option or CLOUDFLARE_ACCOUNT_ID: ansible-core applies the fallback before the check.
    account_id=dict(type='str', required=True, fallback=(env_fallback, ['CLOUDFLARE_ACCOUNT_ID'])),
    base_url=dict(type='str', default=DEFAULT_BASE_URL, fallback=(env_fallback, ['CLOUDFLARE_BASE_URL'])),
    validate_certs=dict(type='bool', default=True),
    timeout=dict(type='int', default=30),
    retries=dict(type='int', default=3),
    # No env fallback on purpose: sending credentials in clear text must be visible in the task or module_defaults,
    # not inherited from an environment left over from a test session.
    allow_insecure_http=dict(type='bool', default=False),
)

# Declared for every module that takes the connection options. ansible-core applies the env fallbacks before these
# checks, so CLOUDFLARE_API_TOKEN and the others count as given.
COMMON_CONSTRAINTS = dict(
    required_one_of=[['api_token', 'api_token_file', 'api_email', 'api_key']],
    mutually_exclusive=[['api_token', 'api_token_file'], ['api_token', 'api_email'], ['api_token', 'api_key'],
                        ['api_token_file', 'api_email'], ['api_token_file', 'api_key']],
    required_together=[['api_email', 'api_key']],
)

_URL = re.compile(r'^https?://[^/\s?#]+(/[^\s?#]*)?$')
_UNSENDABLE = re.compile(r'[\s\x00-\x1f\x7f]')


class PcapModule(AnsibleModule):
    """AnsibleModule with the connection options and their declared constraints (connection=False: none, for a
    module that talks to nobody), and what every cloudflare.pcap module does besides AnsibleModule's own work: the
    checks of the connection options' values, the client, and one way to fail on an API error."""

    _client = None
    _api_token = None

    def __init__(self, argument_spec, requires_jsonschema=False, connection=True, **kwargs):
        if connection:
            argument_spec = with_common_options(argument_spec)
            for constraint, common in COMMON_CONSTRAINTS.items():
                kwargs[constraint] = common + list(kwargs.get(constraint) or [])
        super(PcapModule, self).__init__(argument_spec=argument_spec, **kwargs)
        if connection:
            self._check_requirements_and_options(requires_jsonschema)

    def _check_requirements_and_options(self, requires_jsonschema):
        if REQUESTS_IMPORT_ERROR:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        # Looked up, not imported: the import is deferred to the one place that validates a body.
        if requires_jsonschema and importlib.util.find_spec('jsonschema') is None:
            self.fail_json(msg=missing_required_lib('jsonschema'))
        self._check_connection_options()

    def _check_connection_options(self):
        """The values of the connection options; which of them are given is declared in COMMON_CONSTRAINTS."""
        params = self.params
        if params['api_token_file'] is not None:
            self._api_token = self._read_token_file(params['api_token_file'])
        for option in ('api_token', 'api_key', 'api_email'):
            # An empty value usually comes from a variable or an environment variable that is not set.
            if params[option] == '':
                self.fail_json(msg='%s: is empty; set it, or leave it out' % option)
            # A pasted credential often ends in a newline; HTTP would refuse it and echo it in the error.
            if params[option] and _UNSENDABLE.search(params[option]):
                self.fail_json(msg='%s: contains whitespace or control characters (often a trailing newline from a '
                                   'file or a paste); remove them' % option)
        if not is_cloudflare_id(params['account_id']):
            self.fail_json(msg='account_id: must be 32 hexadecimal characters (the id in the Cloudflare dashboard '
                               'URL), got %d characters' % len(params['account_id'] or ''))
        if not _URL.match(params['base_url']):
            self.fail_json(msg='base_url: must be an http:// or https:// URL such as %s' % DEFAULT_BASE_URL)
        self._check_cleartext(params['base_url'], params['allow_insecure_http'])
        if params['timeout'] <= 0:
            self.fail_json(msg='timeout: must be a positive number of seconds, got %d' % params['timeout'])
        if params['retries'] < 0:
            self.fail_json(msg='retries: must be 0 or more, got %d' % params['retries'])
        if not params['validate_certs']:
            self.warn('validate_certs=false: TLS certificates of %s are not checked; anyone on the path can read '
                      'your API credentials. Use it only against a trusted test endpoint.' % params['base_url'])

    def _read_token_file(self, path):
        """The token in `path`, a file that other users can neither read nor write. The token stays out of
        self.params, so that the module's invocation shows the path alone, and is censored in every message."""
        if not path:
            self.fail_json(msg='api_token_file: is empty; set it, or leave it out')
        try:
            mode = os.stat(path).st_mode
        except (IOError, OSError) as error:
            self.fail_json(msg='api_token_file: cannot read %s: %s' % (path, error.strerror or error))
        if not stat.S_ISREG(mode):
            self.fail_json(msg='api_token_file: %s is not a regular file' % path)
        if mode & (stat.S_IROTH | stat.S_IWOTH):
            self.fail_json(msg='api_token_file: %s can be read or written by other users (mode %04o); make it '
                               'readable by its owner alone (chmod 600)' % (path, stat.S_IMODE(mode)))
        try:
            with open(path, 'rb') as handle:
                content = handle.read()
        except (IOError, OSError) as error:
            self.fail_json(msg='api_token_file: cannot read %s: %s' % (path, error.strerror or error))
        try:
            # One trailing newline is how editors and `echo` end a file; any other whitespace is refused below.
            token = content.decode('ascii').rstrip('\r\n')
        except UnicodeDecodeError:
            self.fail_json(msg='api_token_file: %s holds characters that no API token has (not ASCII)' % path)
        if not token:
            self.fail_json(msg='api_token_file: %s is empty; put the API token in it' % path)
        self.no_log_values.add(token)
        if _UNSENDABLE.search(token):
            self.fail_json(msg='api_token_file: the token in %s contains whitespace or control characters; remove '
                               'them' % path)
        return token

    def _check_cleartext(self, base_url, allowed):
        """Credentials go in clear text over http://; only to this machine, unless the user says so."""
        if not base_url.lower().startswith('http://'):
            return
        host = urlsplit(base_url).hostname or ''
        if is_loopback(host):
            return
        if not allowed:
            self.fail_json(msg='base_url: plain http:// to %s would send your API credentials unencrypted; use '
                               'https://, or set allow_insecure_http=true for a test endpoint' % host)
        self.warn('allow_insecure_http=true: your API credentials are sent unencrypted to http://%s. Use it only '
                  'against a trusted test endpoint.' % host)

    def check_id(self, option):
        """Fail unless the option holds a Cloudflare id: it goes into a URL path."""
        value = self.params[option]
        if value is not None and not is_cloudflare_id(value):
            self.fail_json(msg='%s: must be a Cloudflare id of 32 hexadecimal characters, got %r' % (option, value))

    def check_wait_timeout(self):
        """wait_timeout is checked before anything is sent, whether or not wait is set."""
        if self.params['wait_timeout'] < 0:
            self.fail_json(msg='wait_timeout: must be 0 or more seconds, got %d' % self.params['wait_timeout'])

    @property
    def client(self):
        if self._client is None:
            params = self.params
            self._client = CloudflareClient(
                account_id=params['account_id'],
                base_url=params['base_url'],
                api_token=params['api_token'] or self._api_token,
                api_email=params['api_email'],
                api_key=params['api_key'],
                timeout=params['timeout'],
                validate_certs=params['validate_certs'],
                retries=params['retries'],
                on_retry=self._warn_retry,
            )
        return self._client

    def _warn_retry(self, method, path, cause, remaining):
        self.warn('%s %s got %s; retrying (%d %s left)' % (
            method, path, cause, remaining, 'retry' if remaining == 1 else 'retries'))

    def fail_api(self, error, **result):
        """Fail with the API error's one-line message and its status and Cloudflare codes as data."""
        if not isinstance(error, CloudflareAPIError):
            raise TypeError('fail_api expects a CloudflareAPIError')
        result.update(error.as_result())
        self.fail_json(msg=error.message, **result)


def is_loopback(host):
    """localhost, 127.0.0.0/8 or ::1 (also as an IPv4-mapped IPv6 address): traffic that never leaves this machine."""
    host = host.lower().rstrip('.')
    if host == 'localhost':
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, 'ipv4_mapped', None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def with_common_options(argument_spec):
    spec = dict(COMMON_ARGUMENT_SPEC)
    spec.update(argument_spec)
    return spec
