# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Writing a downloaded capture to disk: where, with which permissions, and never half-written.
Private to cloudflare.pcap."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import grp
import os
import pwd
import stat
import tempfile
import re

from ansible_collections.cloudflare.pcap.plugins.module_utils._atomic_file import file_digests, write_atomically
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.summary import summarise, summarise_file, with_empty_reasons
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap.reader import NotAPcap, inspect, read_records

_OCTAL_MODE = re.compile(r'^0?[0-7]{3,4}$')


class DownloadError(Exception):
    """The file cannot be written or is not a capture file; the message may start with the option at fault."""


def files_named(value):
    """(the files, whether it is one file named by itself) from a path option: a string or a list, each item a file
    or a shell-style pattern (~ and $VARS expanded) whose matches are taken in name order; a file named twice
    counts once. Raises DownloadError when it is neither or names no file."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise DownloadError('must be a file, a pattern, or a list of them, got %r' % (value,))
    paths = []
    patterned = False
    for item in items:
        item = os.path.expanduser(os.path.expandvars(item))
        if glob.has_magic(item):
            patterned = True
            matches = sorted(glob.glob(item))
        else:
            matches = [item]
        paths.extend(match for match in matches if match not in paths)
    if not paths:
        raise DownloadError('%s matches no file' % ', '.join(items))
    return paths, not patterned and not isinstance(value, list)


def resolve_dest(dest, capture_id, mode):
    """(file path, integer mode) from the dest and mode options."""
    if dest.endswith(os.sep) or os.path.isdir(dest):
        dest = os.path.join(dest, capture_id + '.pcap')
    directory = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(directory):
        raise DownloadError('dest: directory %s does not exist' % directory)
    return dest, parse_mode(mode)


def check_writable_directory(dest, probe):
    """Raise DownloadError naming dest when no file can be created beside it, so that nothing is fetched for
    nothing. With `probe`, by creating (and at once removing) a temporary file there, which also catches what the
    permissions do not show (root in /proc, a read-only mount); without (check mode writes nothing), from the
    permissions alone."""
    directory = os.path.dirname(os.path.abspath(dest))
    reason = None
    if not os.access(directory, os.W_OK | os.X_OK):
        reason = 'no write and search permission for this user'
    elif probe:
        try:
            tempfile.TemporaryFile(prefix='.cfpcap-probe-', dir=directory).close()
        except OSError as exc:
            reason = exc.strerror or str(exc)
    if reason:
        raise DownloadError('dest: cannot write a file into directory %s (%s); nothing was downloaded' % (directory, reason))


def parse_mode(mode):
    if isinstance(mode, int) and not isinstance(mode, bool):
        # YAML turns an unquoted 0640 into the integer 416: it is already the mode.
        value = mode
    elif isinstance(mode, str) and _OCTAL_MODE.match(mode):
        value = int(mode, 8)
    else:
        raise DownloadError("mode: must be an octal string such as '0600', got %r" % (mode,))
    if not 0 <= value <= 0o7777:
        raise DownloadError('mode: %o is not a file mode' % value)
    return value


def describe_file(path, summary_top=None):
    """dest, size, checksum (sha256), format and packets of a capture file on disk, and its summary (with the
    summary_top busiest flows and addresses, see summary.py) unless summary_top is None."""
    size, digests = file_digests(path)
    try:
        if summary_top is None:
            file_format, packets = inspect(path)
        else:
            file_format, summary = summarise_file(path, summary_top)
            packets = summary['packets']
    except NotAPcap as exc:
        raise DownloadError('it is not a pcap or pcapng file (%s)' % exc)
    described = dict(dest=path, size=size, checksum=digests['sha256'], format=file_format, packets=packets)
    if summary_top is not None:
        described['summary'] = with_empty_reasons(summary)
    return described


def describe_files(paths, summary_top):
    """Several capture files summarised as one capture (the files of one full capture, say): the summary of all
    their packets together, and for each file its path, size, checksum, format and packets. A summary does not
    depend on the order of the packets, so the files are read one after the other, never merged on disk. Raises
    DownloadError naming the file that is not a capture."""
    files = []

    def records():
        for path in paths:
            size, digests = file_digests(path)
            entry = dict(path=path, size=size, checksum=digests['sha256'], packets=0)
            files.append(entry)
            with open(path, 'rb') as handle:
                try:
                    entry['format'], found = read_records(handle)
                    for record in found:
                        entry['packets'] += 1
                        yield record
                except NotAPcap as exc:
                    raise DownloadError('%s: it is not a pcap or pcapng file (%s)' % (path, exc))

    try:
        summary = with_empty_reasons(summarise(records(), summary_top))
    except NotAPcap as exc:
        raise DownloadError(str(exc))
    return dict(files=files, packets=summary['packets'], summary=summary)


def path_attributes(path):
    """What AnsibleModule adds to a result that names a path (state, mode, owner, group, uid, gid, size), and
    state=absent when nothing is there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return dict(state='absent')
    if stat.S_ISLNK(st.st_mode):
        state = 'link'
    elif stat.S_ISDIR(st.st_mode):
        state = 'directory'
    else:
        state = 'hard' if os.stat(path).st_nlink > 1 else 'file'
    return dict(state=state, mode='0%03o' % stat.S_IMODE(st.st_mode), owner=_name_of(pwd.getpwuid, st.st_uid),
                group=_name_of(grp.getgrgid, st.st_gid), uid=st.st_uid, gid=st.st_gid, size=st.st_size)


def _name_of(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def save_atomically(dest, mode, fill, summary_top=None):
    """Let fill(write) stream the content into a temporary file beside dest, check it, then rename it over dest.
    Checking it reads every packet record, so it summarises the file too when summary_top is not None.

    The temporary file has `mode` from its creation, so the capture is never readable by others, and dest is
    only replaced by a complete, valid capture file.
    """
    described = {}

    def check(temporary, _size, _sha256):
        try:
            described.update(describe_file(temporary, summary_top))
        except DownloadError as exc:
            raise DownloadError('Cloudflare sent a file, but %s; %s was not written' % (exc, dest))
        described['dest'] = dest

    write_atomically(dest, mode, fill, check)
    return described
