# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One normal form for the values the collection sends and compares: IP addresses, RFC 3339 times, bucket URIs
without their access keys, and echoed numbers. The request body (_captures/body.py) sends values in this form, and
capture reuse (_captures/operations.py) and bucket lookup (_buckets/ownership.py) compare in it, so what is sent and
what is matched cannot drift apart. Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import ipaddress
import re
from urllib.parse import unquote

from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import PcapValidationError

_UTC = datetime.timezone.utc
RFC3339 = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$')


def normal_address(value, option):
    """An IP address in its normal form (IPv6 compressed, lower case), as Cloudflare is sent and compared with.

    A scoped IPv6 address (fe80::1%eth0) names an interface of this machine, which means nothing to Cloudflare.
    """
    if '%' in value:
        raise PcapValidationError(option, '%r has a zone index (%%...); Cloudflare filters on addresses without one' % (value,))
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise PcapValidationError(option, '%r is not an IPv4 or IPv6 address' % (value,))


def parse_timestamp(value):
    """An RFC 3339 timestamp as an aware UTC datetime, or None when it is not one."""
    match = RFC3339.match(value) if isinstance(value, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    microsecond = int((match.group(7) or '.0')[1:7].ljust(6, '0'))
    try:
        moment = datetime.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=_UTC)
    except ValueError:
        return None
    if match.group(9):
        sign = 1 if match.group(9) == '+' else -1
        moment -= sign * datetime.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
    return moment


# The query parameters of an R2 destination_conf that carry its access keys. Cloudflare needs them to write to the
# bucket (add), refuses them in the validate call, and lists buckets without them.
CREDENTIAL_PARAMETERS = frozenset(('access-key-id', 'secret-access-key'))


def _uri_parts(destination_conf):
    """(everything before the query, [query parameters], '#fragment' or '')."""
    before_fragment, hash_mark, fragment = destination_conf.partition('#')
    base, _question_mark, query = before_fragment.partition('?')
    return base, [parameter for parameter in query.split('&') if parameter], hash_mark + fragment


def _is_credential(parameter):
    return unquote(parameter.split('=', 1)[0]).strip().lower() in CREDENTIAL_PARAMETERS


def _join(base, parameters, fragment):
    return base + ('?' + '&'.join(parameters) if parameters else '') + fragment


def without_credentials(destination_conf):
    """The URI without the access-key-id and secret-access-key query parameters, everything else as given and in
    order; a URI without them is returned unchanged. This is what the validate call carries."""
    base, parameters, fragment = _uri_parts(destination_conf)
    kept = [parameter for parameter in parameters if not _is_credential(parameter)]
    if len(kept) == len(parameters):
        return destination_conf
    return _join(base, kept, fragment)


def bucket_identity(destination_conf):
    """What identifies a bucket: its destination_conf with the access keys removed, as a normalised string.

    Two destination_conf values name the same bucket when their identities are equal. The identity is the URI
    with surrounding whitespace removed, the scheme in lower case, the query parameters access-key-id and
    secret-access-key (R2's keys; the name compared case-insensitively) removed, the other query parameters
    (account-id, region, ...) kept as written but sorted, an empty query dropped, and the fragment kept. Bucket
    name and path are compared exactly. It holds no access keys, but may hold an account id: it is for
    comparing, not for showing. A value that is not a string (None) is returned unchanged.
    """
    if not isinstance(destination_conf, str):
        return destination_conf
    base, parameters, fragment = _uri_parts(destination_conf.strip())
    scheme, separator, rest = base.partition('://')
    if separator and scheme[:1].isalpha():
        base = scheme.lower() + separator + rest
    return _join(base, sorted(parameter for parameter in parameters if not _is_credential(parameter)), fragment)


def comparable_filter(filter_v1):
    """A filter_v1 as comparable_value() of each field that is set."""
    if not isinstance(filter_v1, dict):
        return {}
    return dict((field, comparable_value(field, value)) for field, value in filter_v1.items() if value is not None)


def comparable_value(field, value):
    """One echoed or requested value in a form that compares equal however Cloudflare writes it back."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else value
    if not isinstance(value, str):
        return value
    try:
        if field.endswith('_address'):
            return normal_address(value, field)
    except PcapValidationError:
        return value
    if field == 'offset_time':
        return parse_timestamp(value) or value
    if field == 'destination_conf':
        return bucket_identity(value)
    if field == 'colo_name':
        return value.strip().lower()
    return value
