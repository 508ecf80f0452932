# -*- coding: utf-8 -*-
# Copyright (c) cloudflare.pcap contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real S3 API on loopback for the unit tests: moto's server (moto[s3] with flask, tests/unit/requirements.txt) in
its own process, with IAM enforced, so that a refusal (403) is the server's answer to a user's policy, not a mock.

moto lets the first INITIAL_NO_AUTH_ACTION_COUNT requests through without credentials; the server uses exactly
those to create an administrator, whose keys sign everything after."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import boto3

REGION = 'us-east-1'
START_TIMEOUT = 60.0
# create_user, put_user_policy, create_access_key: the administrator's setup, below.
UNAUTHENTICATED_SETUP_CALLS = 3


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def die_with_parent():
    """Linux: the server gets SIGTERM when the process that started it ends, however it ends (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def allow(*actions):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': list(actions), 'Resource': '*'}]})


class MotoServer:
    """moto's server on 127.0.0.1; use as a context manager, which stops it whatever happens."""

    def __init__(self):
        self.process = None
        self.url = None
        self.admin = None
        self._log = None
        self._admin_clients = {}

    def __enter__(self):
        return self.start()

    def start(self):
        """Start the server and make the administrator; on any failure nothing is left running."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc):
        self.stop()

    def _start(self):
        self._log = tempfile.TemporaryFile()
        port = free_port()
        self.url = 'http://127.0.0.1:%d' % port
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(UNAUTHENTICATED_SETUP_CALLS))
        self.process = subprocess.Popen([sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p', str(port)],
                                        stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True, preexec_fn=die_with_parent)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError('moto server exited with %s: %s' % (self.process.returncode, self.output()))
            try:
                with urllib.request.urlopen(self.url + '/moto-api/', timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError('moto server did not answer on %s within %ds: %s' % (self.url, START_TIMEOUT, self.output()))
                time.sleep(0.1)
        anonymous = self.client('iam', aws_access_key_id='setup', aws_secret_access_key='setup')
        anonymous.create_user(UserName='admin')
        anonymous.put_user_policy(UserName='admin', PolicyName='everything', PolicyDocument=allow('*'))
        key = anonymous.create_access_key(UserName='admin')['AccessKey']
        self.admin = dict(aws_access_key_id=key['AccessKeyId'], aws_secret_access_key=key['SecretAccessKey'])

    def output(self):
        self._log.seek(0)
        return self._log.read()[-2000:].decode('utf-8', 'replace')

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log is not None:
            self._log.close()

    def client(self, service, **credentials):
        """A client with these credentials, or the administrator's (made once: making a client takes time)."""
        if credentials:
            return boto3.client(service, endpoint_url=self.url, region_name=REGION, **credentials)
        if service not in self._admin_clients:
            self._admin_clients[service] = boto3.client(service, endpoint_url=self.url, region_name=REGION, **self.admin)
        return self._admin_clients[service]

    def new_bucket(self):
        name = 'pcaps-%s' % uuid.uuid4().hex[:12]
        self.client('s3').create_bucket(Bucket=name)
        return name

    def put(self, bucket, key, body):
        self.client('s3').put_object(Bucket=bucket, Key=key, Body=body)

    def user_allowed(self, *actions):
        """The (access key id, secret) of a new user whose only policy allows these actions."""
        iam = self.client('iam')
        name = 'user-%s' % uuid.uuid4().hex[:12]
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName='only', PolicyDocument=allow(*actions))
        key = iam.create_access_key(UserName=name)['AccessKey']
        return key['AccessKeyId'], key['SecretAccessKey']
