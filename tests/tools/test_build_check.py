# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build check's reading of ansible-doc (tests/tools/build_check.py)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_check  # noqa: E402  pylint: disable=wrong-import-position


class FakeDocToolchain:
    """A toolchain whose ansible-doc is a script: JSON on stdout, and a library's warning on stderr."""

    def __init__(self, directory, doc_json):
        self.directory = directory
        script = directory / 'ansible-doc'
        script.write_text('#!/bin/sh\necho "CryptographyDeprecationWarning: DSA is deprecated" >&2\n'
                          'case "$*" in *--json*) printf \'%%s\' \'%s\' ;; *) echo "> CLOUDFLARE.PCAP.CAPTURE_STOP" ;; esac\n' % doc_json)
        script.chmod(0o755)

    def bin(self, program):
        return str(self.directory / program)


def test_ansible_doc_json_is_read_from_stdout_alone(tmp_path):
    """A warning that a library prints on stderr (cryptography 51 under ansible-core 2.21) does not spoil the JSON."""
    module = 'cloudflare.pcap.capture_stop'
    good = '{"%s": {"doc": {"options": {"capture_id": {}}}, "examples": "- name: x"}}' % module
    assert not build_check.module_doc_problem(module, FakeDocToolchain(tmp_path, good), dict(os.environ))


def test_ansible_doc_json_without_examples_fails(tmp_path):
    module = 'cloudflare.pcap.capture_stop'
    no_examples = '{"%s": {"doc": {"options": {"capture_id": {}}}, "examples": ""}}' % module
    assert build_check.module_doc_problem(module, FakeDocToolchain(tmp_path, no_examples), dict(os.environ))
