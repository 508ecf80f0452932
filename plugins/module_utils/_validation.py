# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every request body shares: the one validation error, the check against Cloudflare's request schema,
and masking of bucket URIs. Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.errors import MASK


class PcapValidationError(ValueError):
    """A parameter breaks a rule; the message starts with the option's name."""

    def __init__(self, option, rule):
        self.option = option
        super(PcapValidationError, self).__init__('%s: %s' % (option, rule))


def validate_schema(body, schema):
    """The body must also match Cloudflare's own request schema (defence against rules drifting apart).

    jsonschema is imported here, not at the top: most modules never validate a body, and the import is costly.
    PcapModule(requires_jsonschema=True) has already checked that it is installed.
    """
    import jsonschema  # pylint: disable=import-outside-toplevel

    validator = jsonschema.Draft4Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None and error.context:
        # "not valid under any of the given schemas" helps nobody: say what is wrong in the closest branch.
        error = jsonschema.exceptions.best_match(error.context)
    if error is not None:
        location = '.'.join(str(part) for part in error.absolute_path) or 'request body'
        raise PcapValidationError(location, "does not match Cloudflare's request schema: %s" % error.message)


def mask_destination_conf(uri):
    """Keep the bucket's scheme and name, hide the rest: R2 and S3 URIs carry access keys in the query."""
    if not isinstance(uri, str):
        return uri
    match = re.match(r'^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)(.*)$', uri)
    if not match:
        return MASK
    scheme, authority, rest = match.groups()
    bucket = authority.rsplit('@', 1)[-1]
    hidden = '@' in authority or any(marker in rest for marker in ('?', '#'))
    path = rest.split('?', 1)[0].split('#', 1)[0]
    return scheme + bucket + path + ('?' + MASK if hidden else '')


def masked(record):
    """A copy of a request body or capture with its destination_conf masked."""
    if not isinstance(record, dict) or 'destination_conf' not in record:
        return record
    copy = dict(record)
    copy['destination_conf'] = mask_destination_conf(copy['destination_conf'])
    return copy
