# -*- coding: utf-8 -*-
# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Buckets for full captures: bucket URIs, their credentials, the ownership challenge and its file.

Sources are cited as in tests/simulator/README.md: "bucket-setup" is Cloudflare's docs page
cloudflare-docs src/content/docs/cloudflare-network-firewall/packet-captures/pcaps-bucket-setup.mdx, "BEHAVIOUR.md"
is ../shared/cloudflare-openapi/BEHAVIOUR.md, "spec" is docs/openapi/pcaps.openapi.json.
"""

import datetime
import os
import re
import secrets
import urllib.parse

# bucket-setup, section "Create initial request": an R2 URI carries these two query parameters,
# r2://<BUCKET_NAME>?account-id=<ACCOUNT_ID>&access-key-id=<R2_ACCESS_KEY_ID>&secret-access-key=<R2_SECRET_ACCESS_KEY>
CREDENTIAL_PARAMETERS = frozenset(('access-key-id', 'secret-access-key'))
# A bucket name that can be a single directory name under challenge_dir (no separators, not "." or "..").
_SAFE_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9._-]*$')


def rfc3339(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _parameter_name(part):
    # Compared decoded and case-insensitively: refusing or stripping more spellings is stricter, never more lenient.
    return urllib.parse.unquote_plus(part.split('=', 1)[0]).strip().lower()


def credential_parameters(uri):
    """The credential parameter names (access-key-id, secret-access-key) present in the URI's query."""
    _base, separator, query = uri.partition('?')
    if not separator:
        return []
    return sorted(set(_parameter_name(part) for part in query.split('&')) & CREDENTIAL_PARAMETERS)


def strip_credentials(uri):
    """The URI without its credential query parameters; the rest of the query is kept as written.

    bucket-setup: the R2 example answer shows the bucket without the keys, and the validate call must "exclude the
    secret and access keys from the URL". The simulator takes this stripped URI as a bucket's identity.
    """
    base, separator, query = uri.partition('?')
    if not separator:
        return uri
    kept = [part for part in query.split('&') if _parameter_name(part) not in CREDENTIAL_PARAMETERS]
    return base + ('?' + '&'.join(kept) if kept else '')


def bucket_name(uri):
    """The host part of a bucket URI ('pcaps' for r2://pcaps?... or s3://pcaps/dir?region=...), or None.

    None when the URI has no host that can serve as one directory name (the challenge file is then not written).
    """
    try:
        name = urllib.parse.urlsplit(uri).netloc
    except ValueError:
        return None
    return name if _SAFE_NAME.match(name) and name not in ('.', '..') else None


class Bucket:
    """A destination_conf registered for full captures, with its ownership challenge.

    destination_conf: the URI as added (it may carry R2 credentials); identity: the URI without them.
    """

    def __init__(self, account_id, destination_conf, submitted):
        self.id = secrets.token_hex(16)
        self.account_id = account_id
        self.destination_conf = destination_conf
        self.identity = strip_credentials(destination_conf)
        self.submitted = submitted
        # spec: "filename" is "the ownership challenge filename stored in the bucket".
        self.filename = 'ownership-challenge-%s.txt' % secrets.token_hex(4)
        # bucket-setup ("Find the file in your bucket and copy the contents of the file", docs PR #16626): the
        # validate call sends the file's contents. Their format is not documented: a random token here.
        self.challenge = secrets.token_hex(32)
        self.challenge_file = None
        # Simulated time at which a correct validate call turns the bucket to success (None: not validated yet).
        self.validated = None

    def status(self, now):
        # bucket-setup: "Pending: ... Bucket verification can take five to ten minutes"; BEHAVIOUR.md "validation time".
        return 'success' if self.validated is not None and now >= self.validated else 'pending'

    def to_api(self, now, strip_credentials_flag):
        """The bucket object: exactly the fields of the spec's pcaps_ownership_response (SDK 5.9.0 `Ownership`)."""
        status = self.status(now)
        result = {
            'id': self.id,
            'status': status,
            'submitted': rfc3339(self.submitted),
            'destination_conf': self.identity if strip_credentials_flag else self.destination_conf,
            'filename': self.filename,
        }
        if status == 'success':
            result['validated'] = rfc3339(self.validated)
        return result

    def to_internal(self, now, strip_credentials_flag):
        result = self.to_api(now, strip_credentials_flag)
        result.update({
            'account_id': self.account_id,
            'identity': self.identity,
            'challenge': self.challenge,
            'challenge_file': self.challenge_file,
            'validates_at': rfc3339(self.validated) if self.validated is not None else None,
        })
        return result

    def write_challenge_file(self, challenge_dir):
        """Write the challenge to <challenge_dir>/<bucket name>/<filename>, as Cloudflare writes it to the bucket.

        Returns the path, or None when the URI has no usable bucket name. Raises OSError when writing fails.
        """
        name = bucket_name(self.identity)
        if name is None:
            return None
        directory = os.path.join(challenge_dir, name)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, self.filename)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(self.challenge)
        self.challenge_file = path
        return path
