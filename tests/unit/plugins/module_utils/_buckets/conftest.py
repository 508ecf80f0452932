# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The S3 API on loopback (tests/unit/moto_server.py) for the bucket tests, and an AWS environment that holds
nothing of the developer's."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudflare.pcap.tests.unit.moto_server import MotoServer

AWS_VARIABLES = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_PROFILE',
                 'AWS_DEFAULT_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3',
                 'AWS_CA_BUNDLE', 'AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
                 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')


# ansible-test units runs each test in a forked child (its ansible_forked plugin) that ends without tearing down
# session fixtures: a server started by a fixture would outlive the run. So the server starts in pytest's own
# process when this folder is collected, and stops when pytest ends; forked tests share it.
_SERVER = {}


def pytest_configure(config):  # pylint: disable=unused-argument
    _SERVER.update(server=MotoServer().start(), pid=os.getpid())


def pytest_unconfigure(config):  # pylint: disable=unused-argument
    if _SERVER and _SERVER['pid'] == os.getpid():
        _SERVER.pop('server').stop()


@pytest.fixture(scope='session')
def moto_s3():
    return _SERVER['server']


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch, tmp_path):
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # No ~/.aws of the developer, and no instance metadata lookups (they wait for a timeout off EC2).
    monkeypatch.setenv('AWS_CONFIG_FILE', os.path.join(str(tmp_path), 'no-aws-config'))
    monkeypatch.setenv('AWS_SHARED_CREDENTIALS_FILE', os.path.join(str(tmp_path), 'no-aws-credentials'))
    monkeypatch.setenv('AWS_EC2_METADATA_DISABLED', 'true')
