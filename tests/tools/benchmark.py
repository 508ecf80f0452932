# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make benchmark`: this collection against what users write today, as ratios of paired runs on one machine.

Usage: python tests/tools/benchmark.py [--rounds N] [--sections 1,2,...]

Everything runs against the Cloudflare PCAP API simulator on loopback, with the virtualenv and collection copy of
`make test`. Each round runs every variant once, one after the other (A B C, A B C, ...), so that a noisy machine
slows all of them alike; medians and min-max are printed, and the ratios of the medians. It is a report, not a test:
it asserts nothing about time.

1. one ad-hoc run of capture_request / of ansible.builtin.uri doing the same POST / of ansible.builtin.ping / of
   ansible.builtin.debug (no module at all); and
   capture_request run as a module (AnsiballZ), as it runs on other hosts, for comparison
2. the incident workflow (request, wait, download) through the role, through the modules, and hand-written with
   uri + until + get_url; the simulator finishes every capture after a fixed time, reported as overhead on top
3. API requests spent while waiting for a capture, measured for one duration and computed for longer ones
4. where the time of one capture_request goes, in-process and as a module
5. CPU time of the capture summary (capture_download's summary, capture_summary_info) of a 10,000-packet capture
6. a full capture of 20 files of 5,000 full-size packets each in a bucket (moto's S3 server on loopback): one
   capture_download task (fetch, hash, merge, summarise) against boto3's own download loop plus Wireshark's mergecap
7. the rulebook under a burst of alerts (tests/eda/test_eda_burst.py: 200 posts in 10 s for 20 targets, a restart in
   the middle, on the simulator 15 times faster): median and worst seconds from an alert's post to its capture on
   disk, also in Cloudflare's time (the queue spaces captures a minute apart, so the worst grows with the targets)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import pipeline
from matrix import MATRIX
from pipeline import PipelineError, log

# Simulator timings for the workflow: pending, running, then two conversion steps. The running time changes from
# round to round, so that neither side's poll interval happens to line up with the capture's end every time.
PENDING, CONVERSION = 1.0, 0.5
RUNNING_TIMES = (3.0, 4.5, 6.0)
WAIT_MEASURED_SECONDS = 30
WAIT_COMPUTED_SECONDS = (8, 30, 60, 300, 3600)
# What the hand-written workflow polls with: the `delay:` most playbooks use.
HAND_WRITTEN_DELAY = 5

PLAYBOOKS = {
    'role': '''
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: cloudflare.pcap.incident_capture
      vars:
        incident_capture_dest_dir: "{{ dest_dir }}"
        incident_capture_time_limit: 30
        incident_capture_packet_limit: 100
        incident_capture_filter: {destination_port: 443, protocol: 6}
''',
    'modules': '''
- hosts: localhost
  gather_facts: false
  tasks:
    - cloudflare.pcap.capture_request:
        time_limit: 30
        packet_limit: 100
        filter_v1: {destination_port: 443, protocol: 6}
        wait: true
      register: capture
    - cloudflare.pcap.capture_download:
        id: "{{ capture.id }}"
        dest: "{{ dest_dir }}/"
''',
    'uri': '''
- hosts: localhost
  gather_facts: false
  vars:
    api: "{{ lookup('ansible.builtin.env', 'CLOUDFLARE_BASE_URL') }}/accounts/{{ lookup('ansible.builtin.env', 'CLOUDFLARE_ACCOUNT_ID') }}"
    auth: {Authorization: "Bearer {{ lookup('ansible.builtin.env', 'CLOUDFLARE_API_TOKEN') }}"}
  tasks:
    - ansible.builtin.uri:
        url: "{{ api }}/pcaps"
        method: POST
        headers: "{{ auth }}"
        body_format: json
        body: {type: simple, system: magic-transit, time_limit: 30, packet_limit: 100,
               filter_v1: {destination_port: 443, protocol: 6}}
      register: created
    - ansible.builtin.uri:
        url: "{{ api }}/pcaps/{{ created.json.result.id }}"
        headers: "{{ auth }}"
      register: polled
      until: polled.json.result.status == 'success'
      retries: 120
      delay: %d
    - ansible.builtin.get_url:
        url: "{{ api }}/pcaps/{{ created.json.result.id }}/download"
        headers: "{{ auth }}"
        dest: "{{ dest_dir }}/{{ created.json.result.id }}.pcap"
        mode: '0600'
''' % HAND_WRITTEN_DELAY,
}

# What the worker process does for one capture_request task run in-process; the action plugin machinery of
# ansible-core is loaded before the task starts, whatever the module.
PROFILE_IN_PROCESS = r'''
import json, sys, time
import ansible.plugins.action
marks = [('start', time.perf_counter())]
import requests
marks.append(('import requests', time.perf_counter()))
import jsonschema
marks.append(('import jsonschema', time.perf_counter()))
from ansible_collections.cloudflare.pcap.plugins.plugin_utils import _action
from ansible_collections.cloudflare.pcap.plugins.modules import capture_request
marks.append(('import the action plugin, the module and the module_utils', time.perf_counter()))
module_args = dict(base_url=sys.argv[1], account_id=sys.argv[2], api_token=sys.argv[3], time_limit=30, packet_limit=100,
                   filter_v1={'destination_port': 443, 'protocol': 6}, _ansible_module_name='cloudflare.pcap.capture_request')
with _action.as_module_process(module_args) as output:
    try:
        capture_request.main()  # a real AnsibleModule, as the action plugin runs it
    except SystemExit:
        pass
result = json.loads(output.getvalue())
assert not result.get('failed'), result
marks.append(('AnsibleModule: validate; list captures, POST (loopback); print the result', time.perf_counter()))
print(json.dumps([(name, moment - marks[index][1]) for index, (name, moment) in enumerate(marks[1:])]))
'''

# What the module's Python does when the module runs through AnsiballZ (another host, become, async, ...).
PROFILE_AS_MODULE = r'''
import json, sys, time
marks = [('start', time.perf_counter())]
import ansible.module_utils.basic
marks.append(('import ansible.module_utils.basic', time.perf_counter()))
import requests
marks.append(('import requests', time.perf_counter()))
import jsonschema
marks.append(('import jsonschema', time.perf_counter()))
from ansible_collections.cloudflare.pcap.plugins.module_utils._api import client as _client
from ansible_collections.cloudflare.pcap.plugins.module_utils._captures import body as _capture_body, operations as _captures
marks.append(('import the collection module_utils', time.perf_counter()))
params = dict(type='simple', system='magic-transit', time_limit=30, packet_limit=100, byte_limit=None, colo_name=None,
              destination_conf=None, filter_v1={'destination_port': 443, 'protocol': 6}, offset_time=None)
body = _capture_body.build_capture_request(params)
marks.append(('validate and build the body (rules + jsonschema)', time.perf_counter()))
client = _client.CloudflareClient(account_id=sys.argv[2], base_url=sys.argv[1], api_token=sys.argv[3])
marks.append(('create the HTTP client', time.perf_counter()))
_captures.request_capture(client, body)
marks.append(('HTTP: list captures, then POST (loopback)', time.perf_counter()))
print(json.dumps([(name, moment - marks[index][1]) for index, (name, moment) in enumerate(marks[1:])]))
'''


def admin(running, path, body=None, method='POST'):
    data = json.dumps(body if body is not None else {}).encode() if method == 'POST' else None
    request = urllib.request.Request(running.admin_url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b'null')


def reset(running, **config):
    admin(running, '/reset')
    admin(running, '/config', dict(config, simple_per_minute=False))


def timed(command, env, cwd):
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise PipelineError('%s failed:\n%s' % (' '.join(command[:4]), completed.stdout[-3000:]))
    return elapsed


def summary(samples):
    return '%6.2f s  [%.2f-%.2f]' % (statistics.median(samples), min(samples), max(samples))


def ratio_line(name, numerator, denominator, target):
    value = statistics.median(numerator) / statistics.median(denominator)
    print('  %-44s %5.2f   (%s)' % (name, value, 'target %s' % target if target else 'no target, for comparison'))


def adhoc(toolchain, running, env, cwd, rounds):
    account, token = pipeline.SIMULATOR_ACCOUNT_ID, pipeline.SIMULATOR_API_TOKEN
    body = '{"type":"simple","system":"magic-transit","time_limit":30,"packet_limit":100,' \
           '"filter_v1":{"destination_port":443,"protocol":6}}'
    capture_request = ['-m', 'cloudflare.pcap.capture_request',
                       '-a', 'time_limit=30 packet_limit=100 filter_v1={"destination_port":443,"protocol":6}']
    # The same interpreter, spelled differently: the action plugin runs the module through AnsiballZ, as it does for
    # other hosts, become and async.
    as_a_module = ['-e', json.dumps({
        'ansible_python_interpreter': os.path.join(os.path.dirname(toolchain.bin('python')), '.', 'python')})]
    variants = {
        'capture_request': capture_request,
        'uri (same POST)': ['-m', 'ansible.builtin.uri', '-a', json.dumps({
            'url': '%s/accounts/%s/pcaps' % (running.base_url, account), 'method': 'POST', 'body_format': 'json',
            'body': json.loads(body), 'headers': {'Authorization': 'Bearer ' + token}})],
        'ping': ['-m', 'ansible.builtin.ping'],
        # An action that runs no module at all: the floor of any task run on the controller.
        'debug': ['-m', 'ansible.builtin.debug', '-a', 'msg=floor'],
        'capture_request as a module': as_a_module + capture_request,
    }
    samples = {name: [] for name in variants}
    for _round in range(rounds):
        for name, arguments in variants.items():
            reset(running)
            samples[name].append(timed([toolchain.bin('ansible'), 'localhost'] + arguments, env, cwd))
    print('\n(1) One ad-hoc module run: median [min-max] of %d rounds' % rounds)
    for name, values in samples.items():
        print('  %-44s %s' % (name, summary(values)))
    ratio_line('capture_request / uri', samples['capture_request'], samples['uri (same POST)'], '<= 1.00')
    ratio_line('capture_request / ping', samples['capture_request'], samples['ping'], '<= 1.15')
    ratio_line('capture_request / debug', samples['capture_request'], samples['debug'], '<= 1.35')
    ratio_line('capture_request as a module / uri', samples['capture_request as a module'], samples['uri (same POST)'],
               None)


def workflow(toolchain, running, env, cwd, rounds, scratch):
    samples = {name: [] for name in PLAYBOOKS}
    for name, text in PLAYBOOKS.items():
        with open(os.path.join(scratch, name + '.yml'), 'w') as playbook:
            playbook.write(text)
    overhead = {name: [] for name in PLAYBOOKS}
    for round_number in range(rounds):
        running_time = RUNNING_TIMES[round_number % len(RUNNING_TIMES)]
        capture_time = PENDING + running_time + 2 * CONVERSION
        for name in PLAYBOOKS:
            reset(running, pending_seconds=PENDING, running_seconds=running_time, conversion_seconds=CONVERSION)
            dest_dir = tempfile.mkdtemp(dir=scratch)
            samples[name].append(timed([toolchain.bin('ansible-playbook'), os.path.join(scratch, name + '.yml'),
                                        '-e', 'dest_dir=' + dest_dir], env, cwd))
            overhead[name].append(samples[name][-1] - capture_time)
            shutil.rmtree(dest_dir)
    print('\n(2) Incident workflow (request, wait, download): median [min-max] of %d rounds; the simulator finishes each'
          % rounds)
    print('    capture after %s s (by round); overhead = wall time minus that' % ', '.join(
        '%.1f' % (PENDING + value + 2 * CONVERSION) for value in RUNNING_TIMES))
    labels = {'role': 'role incident_capture', 'modules': 'capture_request wait + capture_download',
              'uri': 'hand-written uri + until (delay %d) + get_url' % HAND_WRITTEN_DELAY}
    for name, values in samples.items():
        print('  %-44s total %s   overhead %s' % (labels[name], summary(values), summary(overhead[name])))
    ratio_line('overhead: role / hand-written', overhead['role'], overhead['uri'], '<= 0.50')
    ratio_line('overhead: modules / hand-written', overhead['modules'], overhead['uri'], '<= 0.50')


def waiter_schedule(seconds, collection_dir):
    """When the collection's waiter polls while a capture runs `seconds`, and how late it notices the end."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(collection_dir))))
    from ansible_collections.cloudflare.pcap.plugins.module_utils._api import waiter as _waiter  # pylint: disable=import-outside-toplevel
    clock = [0.0]
    polls = []

    def fetch():
        polls.append(clock[0])
        return clock[0]

    waiter = _waiter.Waiter(seconds * 2, clock=lambda: clock[0], sleep=lambda pause: clock.__setitem__(0, clock[0] + pause))
    # As in capture_request, the create answer is the first value in hand: no poll at 0 s.
    _value, elapsed = waiter.wait(fetch, lambda now: now >= seconds, first=-1.0)
    return polls, elapsed - seconds


def busiest_minute(times):
    return max(sum(1 for moment in times if start <= moment < start + 60) for start in times) if times else 0


def requests_while_waiting(toolchain, running, env, cwd, collection_dir):
    duration = WAIT_MEASURED_SECONDS
    reset(running, pending_seconds=PENDING, running_seconds=duration - PENDING - 2 * CONVERSION,
          conversion_seconds=CONVERSION)
    started = time.perf_counter()
    output = subprocess.run([toolchain.bin('ansible'), 'localhost', '-m', 'cloudflare.pcap.capture_request', '-a',
                             'time_limit=30 packet_limit=10 wait=true'], env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, check=False).stdout
    wall = time.perf_counter() - started
    polls = [entry for entry in admin(running, '/requests', method='GET')
             if entry['method'] == 'GET' and len(entry['path'].rsplit('/pcaps/', 1)[-1]) == 32]
    if '"status": "success"' not in output:
        raise PipelineError('the waiting capture did not succeed:\n' + output[-2000:])
    print('\n(3) API requests spent while waiting (the account may make 1200 per 5 minutes, 240 a minute)')
    print('  measured: a %d s capture, capture_request wait=true: %d polls, all within one minute; returned %.1f s after '
          'the capture finished (wall %.1f s, includes start-up)' % (duration, len(polls), wall - duration, wall))
    print('  hand-written until/delay %d: %d polls for the same capture, at most %d in any minute' % (
        HAND_WRITTEN_DELAY, math.ceil(duration / HAND_WRITTEN_DELAY) + 1, 60 // HAND_WRITTEN_DELAY))
    for seconds in WAIT_COMPUTED_SECONDS:
        times, late = waiter_schedule(seconds, collection_dir)
        print('  computed from the waiter: a %5d s capture: %4d polls, %2d in its busiest minute, %4.1f per minute on '
              'average; completion noticed %.1f s after it happened' % (
                  seconds, len(times), busiest_minute(times), len(times) * 60.0 / seconds, late))
    print('  (target: at most 30 requests per minute of waiting)')


def profile(toolchain, running, env, cwd):
    print('\n(4) Where the time of one capture_request goes (Python work only; the start-up of Ansible is not in it)')
    for title, script in (('in-process, in the worker process (localhost tasks)', PROFILE_IN_PROCESS),
                          ('as a module, inside the Python that AnsiballZ starts (other hosts, become, async)',
                           PROFILE_AS_MODULE)):
        reset(running)
        output = subprocess.run([toolchain.bin('python'), '-c', script, running.base_url, pipeline.SIMULATOR_ACCOUNT_ID,
                                 pipeline.SIMULATOR_API_TOKEN], env=dict(env, PYTHONPATH=pipeline.COLLECTIONS_DIR),
                                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False).stdout
        try:
            phases = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise PipelineError('the profile run failed:\n' + output[-2000:])
        total = sum(seconds for _name, seconds in phases)
        print('  %s: %.0f ms in all' % (title, total * 1000))
        for name, seconds in phases:
            print('    %-58s %6.1f ms  %3.0f%%' % (name, seconds * 1000, 100 * seconds / total))


# The summary of a 10,000-packet capture as the simulator makes it (160-byte samples of random flows), timed as CPU
# time of this process: the file is summarised `rounds` times and the median reported.
PROFILE_SUMMARY = r'''
import json, os, statistics, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
import cfpcap_pcapgen
from ansible_collections.cloudflare.pcap.plugins.module_utils._pcap import summary as _pcap_summary
data = cfpcap_pcapgen.build_pcap('66802ca5668e47a2b82c2e6746e45037', {}, 10000, 1764230400, 60, snaplen=160)
handle, path = tempfile.mkstemp(suffix='.pcap')
os.write(handle, data)
os.close(handle)
samples = []
for _round in range(int(sys.argv[1])):
    started = time.process_time()
    _format, summary = _pcap_summary.summarise_file(path)
    samples.append(time.process_time() - started)
os.unlink(path)
assert summary['packets'] == 10000, summary
print(json.dumps(dict(samples=samples, size=len(data), flows=summary['flow_count'])))
'''


def summary_cpu(toolchain, env, cwd, rounds, collection_dir):
    simulator_dir = os.path.join(collection_dir, 'tests', 'simulator')
    output = subprocess.run([toolchain.bin('python'), '-c', PROFILE_SUMMARY, str(max(rounds, 3)), simulator_dir],
                            env=dict(env, PYTHONPATH=pipeline.COLLECTIONS_DIR), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, check=False).stdout
    try:
        measured = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise PipelineError('the summary run failed:\n' + output[-2000:])
    print('\n(5) CPU time to summarise a 10,000-packet capture (%d kB, %d flows, 160-byte samples), %d rounds'
          % (measured['size'] // 1000, measured['flows'], len(measured['samples'])))
    values = measured['samples']
    print('  %-44s %6.0f ms  [%.0f-%.0f]   (target <= 300 ms)' % (
        'summary of the file', statistics.median(values) * 1000, min(values) * 1000, max(values) * 1000))


# (6) A full capture as Cloudflare leaves it: one file per server the traffic crossed (collect-pcaps, PR #26482).
FULL_FILES, FULL_PACKETS_PER_FILE = 20, 5000
FULL_PREFIX = 'benchmark-full'

# What a responder writes by hand for the same files: boto3's own download loop over the capture's objects, then
# mergecap. It runs in the toolchain's Python, which has boto3.
HAND_WRITTEN_FULL = r'''
import os, subprocess, sys
import boto3
endpoint, key_id, secret, bucket, prefix, capture_id, dest = sys.argv[1:8]
s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id=key_id,
                  aws_secret_access_key=secret)
paths = []
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
    for item in page.get('Contents', []):
        if 'pcap_' + capture_id in item['Key'].rsplit('/', 1)[-1]:
            paths.append(os.path.join(dest, item['Key'].replace('/', '_')))
            s3.download_file(bucket, item['Key'], paths[-1])
subprocess.run(['mergecap', '-w', os.path.join(dest, 'merged.pcap')] + paths, check=True)
print(len(paths))
'''


def full_capture(toolchain, running, env, cwd, rounds, collection_dir, scratch):
    if not shutil.which('mergecap'):
        raise PipelineError('(6) needs Wireshark\'s mergecap: apt-get install wireshark-common')
    with pipeline.bucket_store(toolchain.bin('python'), collection_dir, 'benchmark-moto.log') as store:
        bucket_uri = 's3://%s/%s?region=us-east-1' % (store.bucket, FULL_PREFIX)
        total = FULL_FILES * FULL_PACKETS_PER_FILE
        reset(running, pending_seconds=0, running_seconds=1, conversion_seconds=0, packets_per_second=total,
              download_packets=total, require_validated_bucket=False, bucket_endpoint=store.url,
              bucket_credentials=dict(access_key_id=store.access_key_id, secret_access_key=store.secret_access_key),
              bucket_layout='top_level', bucket_files=FULL_FILES)
        command = [toolchain.bin('ansible'), 'localhost', '-m', 'cloudflare.pcap.capture_request', '-a', json.dumps(dict(
            type='full', colo_name='ord02', time_limit=60, destination_conf=bucket_uri, wait=True, wait_timeout=300))]
        created = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 check=False).stdout
        try:
            capture_id = json.loads(created.split(' => ', 1)[1])['capture']['id']
        except (IndexError, ValueError, KeyError):
            raise PipelineError('the full capture was not made:\n' + created[-2000:])
        options = dict(id=capture_id, bucket_endpoint_url=store.url, bucket_access_key_id=store.access_key_id,
                       bucket_secret_access_key=store.secret_access_key)
        samples = {'capture_download': [], 'boto3 download loop + mergecap': []}
        for _round in range(rounds):
            for name in samples:
                dest_dir = tempfile.mkdtemp(dir=scratch)
                if name == 'capture_download':
                    command = [toolchain.bin('ansible'), 'localhost', '-m', 'cloudflare.pcap.capture_download', '-a',
                               json.dumps(dict(options, dest=dest_dir + '/'))]
                else:
                    command = [toolchain.bin('python'), '-c', HAND_WRITTEN_FULL, store.url, store.access_key_id,
                               store.secret_access_key, store.bucket, FULL_PREFIX + '/', capture_id, dest_dir]
                samples[name].append(timed(command, env, cwd))
                merged = [entry for entry in os.listdir(dest_dir) if 'merged' in entry]
                files = [entry for entry in os.listdir(dest_dir) if entry.endswith('.pcap') and entry not in merged]
                if len(files) != FULL_FILES or not merged:
                    raise PipelineError('%s left %d capture files and %s in %s' % (name, len(files), merged, dest_dir))
                shutil.rmtree(dest_dir)
    print('\n(6) A full capture in its bucket (moto on loopback): %d files of %d full-size packets (%d in all), fetched'
          ' and merged; median [min-max] of %d rounds' % (FULL_FILES, FULL_PACKETS_PER_FILE, total, rounds))
    print('    capture_download also hashes every file (SHA-256) and summarises the merged capture; the hand-written'
          ' pair does neither')
    for name, values in samples.items():
        print('  %-44s %s' % (name, summary(values)))
    ratio_line('capture_download / boto3 loop + mergecap', samples['capture_download'],
               samples['boto3 download loop + mergecap'], '<= 1.00')


# (7) The rulebook under a burst: ansible-rulebook (Java, a virtualenv with tests/eda/requirements.txt) and its own simulator,
# run by the end-to-end test, which writes the seconds from each target's first post to its .pcap on disk.
def eda_burst(scratch):
    from preflight import java_found  # pylint: disable=import-outside-toplevel
    print('\n(7) alerts to captures on disk, under a burst of 200 posts for 20 targets with a restart (tests/eda/test_eda_burst.py)')
    if not java_found():
        print('  not run: no java on PATH or in JAVA_HOME (ansible-rulebook needs Java 17 or newer)')
        return
    venv_dir = pipeline.ensure_cached_venv('eda-py3.11', '3.11', os.path.join(pipeline.REPO_ROOT, 'tests', 'eda', 'requirements.txt'))
    timings_path = os.path.join(scratch, 'eda-burst.json')
    env = dict(os.environ, EDA_BURST_TIMINGS=timings_path)
    run = subprocess.run([os.path.join(venv_dir, 'bin', 'python'), '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                          '--timeout', '1200', os.path.join('tests', 'eda', 'test_eda_burst.py')],
                         cwd=pipeline.REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0 or not os.path.exists(timings_path):
        print('  the burst test failed (exit %d), no timings:\n%s' % (run.returncode, run.stdout[-2000:]))
        return
    with open(timings_path, encoding='utf-8') as handle:
        timings = json.load(handle)
    seconds = sorted(timings['seconds_to_disk'].values())
    scale = 60.0 / timings['test_minute']
    print('  %d targets; the restart came after %d captures; Cloudflare\'s minute took %.1f s here'
          % (len(seconds), timings['restart_after'], timings['test_minute']))
    print('  post to files on disk: median %.1f s, worst %.1f s (in Cloudflare\'s time, at most: median %.0f s, '
          'worst %.0f s)' % (statistics.median(seconds), seconds[-1], statistics.median(seconds) * scale,
                             seconds[-1] * scale))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--sections', default='1,2,3,4,5,6,7', help='which of the numbered sections to run (default: all)')
    args = parser.parse_args()
    sections = set(args.sections.split(','))
    pipeline.stop_cleanly_on_sigterm()
    toolchain = MATRIX[0]
    try:
        pipeline.ensure_venv(toolchain)
        collection_dir = pipeline.copy_collection()
        print('machine: %d cores, %s; ansible-core %s, Python %s' % (
            os.cpu_count(), os.uname().machine, toolchain.ansible_core, toolchain.python))
        with pipeline.simulator(toolchain.bin('python'), collection_dir) as running, \
                tempfile.TemporaryDirectory(prefix='cfpcap-bench-') as scratch:
            env = pipeline.simulator_client_env(toolchain, running)
            env['ANSIBLE_LOCALHOST_WARNING'] = 'false'
            env['ANSIBLE_INVENTORY_UNPARSED_WARNING'] = 'false'
            runs = (('1', lambda: adhoc(toolchain, running, env, scratch, args.rounds)),
                    ('2', lambda: workflow(toolchain, running, env, scratch, args.rounds, scratch)),
                    ('3', lambda: requests_while_waiting(toolchain, running, env, scratch, collection_dir)),
                    ('4', lambda: profile(toolchain, running, env, scratch)),
                    ('5', lambda: summary_cpu(toolchain, env, scratch, args.rounds, collection_dir)),
                    ('6', lambda: full_capture(toolchain, running, env, scratch, args.rounds, collection_dir, scratch)),
                    ('7', lambda: eda_burst(scratch)))
            for number, run in runs:
                if number in sections:
                    run()
    except PipelineError as error:
        log('benchmark: %s' % error)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
