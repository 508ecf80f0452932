# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The custody record of a capture: ``<id>.manifest.json`` and ``SHA256SUMS`` in the case folder. Private to
cloudflare.pcap.

Why this shape (NIST SP 800-61 r2 section 3.2.2, RFC 3227 section 2.4): who handled the evidence, when (UTC, with
its zone), where it is kept, and proof that it did not change. So the manifest holds the capture (id, type,
account), the request as sent and Cloudflare's record of the capture (destination_conf masked: it may carry
access keys), every file with its size, SHA-256 and SHA-1 (SOAR tools index by one or the other), the versions of
the collection and ansible-core, and a custody log: one entry per handling step with its RFC 3339 UTC time and
who ran it (controller user and host, AWX job, rulebook event).

Rules that make it hold up:

- Written atomically with mode 0600 (_atomic_file); SHA256SUMS is written after it and lists every recorded file
  and the manifest itself, in the two-space format ``sha256sum -c`` reads.
- A re-run appends to the custody log. A recorded file is hashed again first: a file whose hash changed, or that
  is gone, is an error naming it, and nothing is written. A hash is never rewritten.
- A manifest of another format version is not overwritten: an older one is kept beside the new one under
  ``<id>.manifest.v<version>.json`` (its hash recorded as a file), a newer one stops the update.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import getpass
import json
import os
import re
import socket

from ansible_collections.cloudflare.pcap.plugins.module_utils._api.client import COLLECTION_VERSION
from ansible_collections.cloudflare.pcap.plugins.module_utils._atomic_file import file_digests, write_atomically
from ansible_collections.cloudflare.pcap.plugins.module_utils._validation import masked

MANIFEST_VERSION = 1
MANIFEST_SUFFIX = '.manifest.json'
SUMS_NAME = 'SHA256SUMS'
FILE_MODE = 0o600
STEPS = ('requested', 'finished', 'downloaded', 'merged', 'summarised', 'copied', 'verified')
# What AWX passes to every job (extra vars), and what the collection's rulebook passes from an alert.
RUN_CONTEXT_KEYS = ('awx_job_id', 'awx_job_template_name', 'awx_user_name', 'tower_job_id', 'tower_job_template_name',
                    'tower_user_name', 'rulebook_correlation_id', 'rulebook_event_uuid')
# The module option holding them (documented in plugins/doc_fragments/evidence.py).
RUN_CONTEXT_SPEC = dict(type='dict', default={}, options=dict((key, dict(type='str')) for key in RUN_CONTEXT_KEYS))
_CAPTURE_ID = re.compile(r'^[0-9A-Za-z_-]{1,64}$')
_RFC3339 = re.compile(r'^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$')


class EvidenceError(Exception):
    """A custody record that cannot be written or does not match its files, as one message naming the files."""

    def __init__(self, message, changed=None, missing=None):
        super(EvidenceError, self).__init__(message)
        self.changed = changed or []
        self.missing = missing or []


def utc_now():
    return rfc3339(datetime.datetime.now(datetime.timezone.utc))


def rfc3339(moment):
    """A datetime as RFC 3339 UTC to the microsecond, such as 2026-12-05T13:50:00.000000Z."""
    if moment.tzinfo is None:
        raise ValueError('a time without a zone is not evidence of when')
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def parse_time(text, option='at'):
    """An RFC 3339 time (any offset) as RFC 3339 UTC; a time without a zone is refused."""
    match = _RFC3339.match(text or '') if isinstance(text, str) else None
    if not match:
        raise EvidenceError('%s: %r is not an RFC 3339 time with a zone, such as 2026-12-05T13:50:00Z' % (option, text))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or '.0')[1:7].ljust(6, '0'))
    if zone in ('Z', 'z'):
        offset = datetime.timedelta(0)
    else:
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * (1 if zone[0] == '+' else -1)
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                                   datetime.timezone(offset))
    except ValueError as exc:
        raise EvidenceError('%s: %r is not a valid time: %s' % (option, text, exc))
    return rfc3339(moment)


def manifest_name(capture_id):
    return '%s%s' % (capture_id, MANIFEST_SUFFIX)


def check_capture_id(capture_id):
    if not isinstance(capture_id, str) or not _CAPTURE_ID.match(capture_id):
        raise EvidenceError('capture_id: must be the capture id (letters, digits, - and _), got %r' % (capture_id,))


def check_file_name(name):
    """A recorded file is named relative to the case folder, without .. or an absolute path."""
    parts = name.split('/') if isinstance(name, str) else ['']
    if not name or name.startswith('/') or any(part in ('', '.', '..') for part in parts) or '\n' in name or '\\' in name:
        raise EvidenceError('files: %r must be a path relative to the case folder, without .., \\ or a newline' % (name,))
    if parts[-1] == SUMS_NAME or name.endswith(MANIFEST_SUFFIX) and '/' not in name:
        raise EvidenceError('files: %s is written by the custody record itself, not recorded as a file' % name)


def who_and_where(run_context=None):
    """Who runs the step, from where: the user and host of the process, and the AWX job or rulebook event given."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    entry = dict(user=user, host=socket.getfqdn())
    for key in RUN_CONTEXT_KEYS:
        value = (run_context or {}).get(key)
        if value not in (None, ''):
            entry[key] = str(value)
    return entry


def read_manifest(folder, capture_id):
    """The manifest of the capture in folder, or None when there is none. Raises EvidenceError when it is not JSON."""
    path = os.path.join(folder, manifest_name(capture_id))
    if not os.path.exists(path):
        return None
    try:
        with open(path, 'rb') as handle:
            manifest = json.loads(handle.read().decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvidenceError('%s: not a readable manifest (changed or damaged?): %s' % (manifest_name(capture_id), exc),
                            changed=[manifest_name(capture_id)])
    except (IOError, OSError) as exc:
        raise EvidenceError('%s: cannot be read: %s' % (path, exc.strerror or exc))
    if not isinstance(manifest, dict):
        raise EvidenceError('%s: not a manifest (a JSON object was expected)' % manifest_name(capture_id),
                            changed=[manifest_name(capture_id)])
    return manifest


def hash_file(folder, name):
    """dict(name, size, sha256, sha1) of a file of the case folder."""
    size, digests = file_digests(os.path.join(folder, *name.split('/')), ('sha256', 'sha1'))
    return dict(name=name, size=size, sha256=digests['sha256'], sha1=digests['sha1'])


def compare_files(folder, recorded):
    """(changed, missing): names of recorded files whose size or SHA-256 differ now, and of those that are gone."""
    changed, missing = [], []
    for entry in recorded:
        path = os.path.join(folder, *entry['name'].split('/'))
        if not os.path.isfile(path):
            missing.append(entry['name'])
            continue
        now = hash_file(folder, entry['name'])
        if now['size'] != entry.get('size') or now['sha256'] != entry.get('sha256'):
            changed.append(entry['name'])
    return changed, missing


def sums_text(entries):
    """SHA256SUMS content: "<sha256>  <name>" per line, as sha256sum writes and -c reads (text mode, two spaces)."""
    return ''.join('%s  %s\n' % (entry['sha256'], entry['name']) for entry in sorted(entries, key=lambda item: item['name']))


def tool_versions():
    try:
        from ansible.module_utils.ansible_release import __version__ as ansible_version
    except ImportError:
        ansible_version = 'unknown'
    return {'cloudflare.pcap': COLLECTION_VERSION, 'ansible-core': ansible_version}


def update_manifest(folder, capture_id, steps=(), files=(), capture=None, request=None, capture_type=None,
                    account_id=None, run_context=None, copies=None, copy_failures=None, check_mode=False, now=None):
    """Create or extend the capture's custody record in folder, then write SHA256SUMS.

    steps: names from STEPS or dicts(step, at, note); files: names relative to folder to record (already recorded
    ones are checked, never re-hashed into the record); capture: Cloudflare's record; request: the body as sent;
    copies: dicts(name, key, uri, sha256, ...) of objects copied to a bucket; copy_failures: dicts(name, key, error)
    of those that were not. Returns dict(changed, path, manifest,
    added_files, previous_version). Raises EvidenceError, writing nothing, when a recorded file changed or is gone.
    """
    check_capture_id(capture_id)
    if not os.path.isdir(folder):
        raise EvidenceError('path: %s is not a directory' % folder)
    now = now or utc_now()
    entries = [_step_entry(step, now) for step in steps]
    for name in files:
        check_file_name(name)
    existing = read_manifest(folder, capture_id)
    previous_version = None
    if existing is not None and existing.get('manifest_version') != MANIFEST_VERSION:
        # A manifest from before versions were written counts as version 0.
        previous_version = existing.get('manifest_version', 0)
        if not isinstance(previous_version, int) or previous_version > MANIFEST_VERSION:
            raise EvidenceError('%s: written by a newer cloudflare.pcap (manifest version %s, this one writes %s); it is '
                                'left as it is' % (manifest_name(capture_id), previous_version, MANIFEST_VERSION))
    manifest = existing if existing is not None and previous_version is None else _new_manifest(capture_id)
    before = json.dumps(manifest, sort_keys=True) if manifest is existing else None
    recorded = manifest.setdefault('files', [])
    changed, missing = compare_files(folder, recorded)
    if changed or missing:
        raise EvidenceError(_mismatch_message(changed, missing), changed, missing)
    known = set(entry['name'] for entry in recorded)
    names = list(files)
    if previous_version is not None:
        names.append(manifest_name(capture_id)[:-len('.json')] + '.v%s.json' % previous_version)
    added = []
    for name in names:
        if name in known:
            continue
        path = os.path.join(folder, *name.split('/'))
        if not os.path.isfile(path) and not (previous_version is not None and name == names[-1]):
            raise EvidenceError('files: %s is not a file in %s' % (name, folder), missing=[name])
        added.append(name)
        known.add(name)
    record = manifest['capture']
    if capture_type or (capture or {}).get('type'):
        record['type'] = capture_type or capture['type']
    if account_id:
        record['account_id'] = account_id
    if request is not None:
        manifest['request'] = masked(request)
    if capture is not None:
        manifest['cloudflare_record'] = masked(capture)
    if copies:
        manifest.setdefault('copies', []).extend(copies)
    if copy_failures:
        manifest.setdefault('copy_failures', []).extend(copy_failures)
    manifest['tools'] = tool_versions()
    handler = who_and_where(run_context)
    for entry in entries:
        entry['by'] = handler
        if entry['step'] == 'copied':
            entry.setdefault('objects', [copy['key'] for copy in copies or ()])
            if copy_failures:
                entry.setdefault('not_copied', [failure['key'] for failure in copy_failures])
    manifest.setdefault('custody_log', []).extend(entries)
    if not added and before == json.dumps(manifest, sort_keys=True):
        # Nothing new: the files are as recorded and no step happened. Keep the record as it is.
        return dict(changed=False, path=os.path.join(folder, manifest_name(capture_id)), manifest=manifest,
                    added_files=[], previous_version=None)
    if check_mode:
        return dict(changed=True,
                    path=os.path.join(folder, manifest_name(capture_id)), manifest=manifest, added_files=added,
                    previous_version=previous_version)
    if previous_version is not None:
        _keep_previous(folder, capture_id, previous_version)
    for name in added:
        entry = hash_file(folder, name)
        entry['recorded_at'] = now
        recorded.append(entry)
    manifest['updated_at'] = now
    write_manifest(folder, capture_id, manifest)
    return dict(changed=True, path=os.path.join(folder, manifest_name(capture_id)), manifest=manifest, added_files=added,
                previous_version=previous_version)


def write_manifest(folder, capture_id, manifest):
    """The manifest, then SHA256SUMS of its files and itself; both atomic, 0600."""
    text = (json.dumps(manifest, indent=2, sort_keys=True) + '\n').encode('utf-8')
    _size, manifest_sha256, _replaced = write_atomically(os.path.join(folder, manifest_name(capture_id)), FILE_MODE,
                                                         lambda write: write(text))
    sums = sums_text(manifest['files'] + [dict(name=manifest_name(capture_id), sha256=manifest_sha256)]).encode('utf-8')
    write_atomically(os.path.join(folder, SUMS_NAME), FILE_MODE, lambda write: write(sums))


def verify_folder(folder, capture_id=None):
    """Whether the case folder agrees with its manifest and SHA256SUMS. Returns dict(capture_id, verified, changed,
    missing, unrecorded, checked, manifest): changed and missing name every file that differs or is gone, the
    manifest and SHA256SUMS included; unrecorded lists files of the folder that no record names."""
    if not os.path.isdir(folder):
        raise EvidenceError('path: %s is not a directory' % folder)
    if capture_id is None:
        found = sorted(name for name in os.listdir(folder) if name.endswith(MANIFEST_SUFFIX))
        if len(found) != 1:
            raise EvidenceError('path: %s holds %s manifest(s) (*%s): give capture_id'
                                % (folder, len(found) or 'no', MANIFEST_SUFFIX))
        capture_id = found[0][:-len(MANIFEST_SUFFIX)]
    check_capture_id(capture_id)
    name = manifest_name(capture_id)
    changed, missing = [], []
    sums = _read_sums(folder)
    if sums is None:
        missing.append(SUMS_NAME)
        sums = {}
    manifest = None
    if not os.path.isfile(os.path.join(folder, name)):
        missing.append(name)
    else:
        try:
            manifest = read_manifest(folder, capture_id)
        except EvidenceError:
            changed.append(name)
        if name in sums and hash_file(folder, name)['sha256'] != sums[name] and name not in changed:
            changed.append(name)
        elif SUMS_NAME not in missing and name not in sums:
            changed.append(SUMS_NAME)
    recorded = (manifest or {}).get('files', [])
    if manifest is not None:
        file_changes, file_missing = compare_files(folder, recorded)
        changed.extend(file_changes)
        missing.extend(file_missing)
        if SUMS_NAME not in missing and SUMS_NAME not in changed:
            expected = dict((entry['name'], entry['sha256']) for entry in recorded)
            listed = dict((key, value) for key, value in sums.items() if key != name)
            if expected != listed:
                changed.append(SUMS_NAME)
    names = set(entry['name'] for entry in recorded) | set([name, SUMS_NAME])
    unrecorded = sorted(item for item in _folder_files(folder) if item not in names)
    return dict(capture_id=capture_id, verified=not changed and not missing, changed=sorted(set(changed)),
                missing=sorted(set(missing)), unrecorded=unrecorded, checked=len(recorded), manifest=manifest)


def _read_sums(folder):
    """SHA256SUMS as {name: sha256}; None when it is missing. Lines that are not "<64 hex>  <name>" are kept under
    a name no file has, so that they make the comparison fail."""
    path = os.path.join(folder, SUMS_NAME)
    if not os.path.isfile(path):
        return None
    sums = {}
    with open(path, 'rb') as handle:
        for number, line in enumerate(handle.read().decode('utf-8', 'replace').splitlines()):
            match = re.match(r'^([0-9a-f]{64}) [ *](.+)$', line)
            if match:
                sums[match.group(2)] = match.group(1)
            else:
                sums['\n%d' % number] = line
    return sums


def _folder_files(folder):
    for directory, _dirs, files in os.walk(folder):
        for item in files:
            if item.startswith('.'):
                continue
            yield os.path.relpath(os.path.join(directory, item), folder).replace(os.sep, '/')


def _new_manifest(capture_id):
    return dict(manifest_version=MANIFEST_VERSION, capture=dict(id=capture_id), files=[], custody_log=[])


def _keep_previous(folder, capture_id, version):
    """An older manifest is kept as it is under <id>.manifest.v<version>.json (once) before the new one is written."""
    source = os.path.join(folder, manifest_name(capture_id))
    target = source[:-len('.json')] + '.v%s.json' % version
    if not os.path.exists(target):
        with open(source, 'rb') as handle:
            content = handle.read()
        write_atomically(target, FILE_MODE, lambda write: write(content))


def _step_entry(step, now):
    if isinstance(step, str):
        step = dict(step=step)
    if not isinstance(step, dict) or step.get('step') not in STEPS:
        raise EvidenceError('steps: each must be one of %s (or a dict with step, at, note), got %r'
                            % (', '.join(STEPS), step if not isinstance(step, dict) else step.get('step')))
    entry = dict(step=step['step'], at=parse_time(step['at'], 'steps.at') if step.get('at') else now)
    if step.get('note'):
        entry['note'] = str(step['note'])
    return entry


def _mismatch_message(changed, missing):
    parts = []
    if changed:
        parts.append('changed since they were recorded: %s' % ', '.join(changed))
    if missing:
        parts.append('missing: %s' % ', '.join(missing))
    return 'The case folder does not match its custody record (nothing was written; a recorded hash is never ' \
           'replaced): %s' % '; '.join(parts)
