# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write one playbook per module of the collection whose tasks are the module's EXAMPLES, as ansible-doc shows them.

Usage: python make_playbooks.py OUTPUT_DIR
Each playbook first sets up what its examples take for granted (a finished capture, a running full capture, a
registered bucket); the examples then run unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

# Registering a bucket makes Cloudflare write the ownership challenge file; its contents are what the validation
# examples need. The simulator shows them (as a user reads them from the bucket).
BUCKET_SETUP = [
    {'name': 'Register the bucket the examples use', 'cloudflare.pcap.bucket_ownership': {'destination_conf': '{{ pcap_bucket_uri }}'}},
    {'name': 'Read the challenge file from the bucket', 'ansible.builtin.uri': {'url': '{{ simulator_url }}/buckets', 'return_content': True},
     'register': 'sim_buckets'},
    {'name': 'Know its ownership challenge', 'ansible.builtin.set_fact': {'pcap_ownership_challenge': '{{ (sim_buckets.json | first).challenge }}'}},
]
FINISHED_CAPTURE = [
    {'name': 'A finished simple capture', 'cloudflare.pcap.capture_request': {'time_limit': 5, 'packet_limit': 50, 'wait': True},
     'register': 'capture'},
]
RUNNING_FULL_CAPTURE = [
    {'name': 'A running full capture', 'cloudflare.pcap.capture_request': {
        'type': 'full', 'colo_name': 'ord02', 'time_limit': 3600, 'destination_conf': '{{ pcap_bucket_uri }}'},
     'register': 'full_capture'},
]
# A case folder as the role leaves it: a downloaded capture and its summary files (the evidence_* examples).
CASE_FOLDER = [
    {'name': 'A finished simple capture', 'cloudflare.pcap.capture_request': {'time_limit': 5, 'packet_limit': 50, 'wait': True},
     'register': 'requested'},
    {'name': 'The capture as the examples name it', 'ansible.builtin.set_fact': {'capture': '{{ requested.capture }}'}},
    {'name': 'Download it into the case folder', 'cloudflare.pcap.capture_download': {'id': '{{ capture.id }}', 'dest': '{{ incident_dir }}/'},
     'register': 'downloaded'},
    {'name': 'Its summary files', 'ansible.builtin.copy': {'content': '{{ downloaded.summary | to_nice_json }}',
                                                           'dest': '{{ incident_dir }}/{{ capture.id }}.summary.{{ item }}', 'mode': '0600'},
     'loop': ['json', 'md']},
]
CASE_WITH_MANIFEST = CASE_FOLDER + [
    {'name': 'Its custody record', 'cloudflare.pcap.evidence_manifest': {
        'path': '{{ incident_dir }}', 'capture_id': '{{ capture.id }}', 'capture': '{{ capture }}', 'request': '{{ requested.request }}',
        'steps': [{'step': 'requested', 'at': '{{ capture.submitted }}'}, {'step': 'downloaded'}],
        'files': ['{{ capture.id }}.pcap', '{{ capture.id }}.summary.json', '{{ capture.id }}.summary.md']}},
]
# With the Python that runs the play, which has boto3; runme.sh points boto3 at moto (AWS_ENDPOINT_URL and keys).
EVIDENCE_BUCKET = [
    {'name': 'The evidence bucket of the example', 'ansible.builtin.command': {'argv': [
        '{{ ansible_playbook_python }}', '-c',
        "import boto3; boto3.client('s3', region_name='eu-west-1').create_bucket(Bucket='soc-evidence', "
        "CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'})"]}, 'changed_when': True},
]
SETUP = {
    'bucket_ownership': BUCKET_SETUP,
    'bucket_ownership_info': [],  # runme.sh registers a validated bucket
    'capture_download': FINISHED_CAPTURE,
    'capture_info': FINISHED_CAPTURE,
    'capture_request': [],
    'capture_stop': RUNNING_FULL_CAPTURE,
    'capture_summary_info': FINISHED_CAPTURE,
    'evidence_copy': CASE_WITH_MANIFEST + EVIDENCE_BUCKET,
    'evidence_manifest': CASE_FOLDER,
    'evidence_verify_info': CASE_WITH_MANIFEST,
}


def ansible_doc(*args):
    return json.loads(subprocess.run(['ansible-doc', '--json'] + list(args), check=True, stdout=subprocess.PIPE).stdout)


def main():
    output_dir = sys.argv[1]
    modules = sorted(name.split('.')[-1] for name in ansible_doc('-t', 'module', '-l', 'cloudflare.pcap'))
    if sorted(SETUP) != modules:
        sys.exit('make_playbooks.py knows %s but the collection has %s: add the new module to SETUP' % (sorted(SETUP), modules))
    for module in modules:
        examples = yaml.safe_load(ansible_doc('cloudflare.pcap.' + module)['cloudflare.pcap.' + module]['examples'])
        play = {'name': 'EXAMPLES of cloudflare.pcap.%s' % module, 'hosts': 'localhost', 'gather_facts': False,
                'pre_tasks': SETUP[module], 'tasks': examples}
        with open(os.path.join(output_dir, module + '.yml'), 'w') as playbook:
            yaml.safe_dump([play], playbook, sort_keys=False)
        print(module)


if __name__ == '__main__':
    main()
