#!/usr/bin/env bash
# AWX for real: ansible-runner (the engine of AWX and Automation Platform jobs) runs the job template playbook of
# docs/docsite/rst/awx.rst from a private data directory laid out as AWX lays it out: the injector output of the
# credential type the collection ships (extensions/awx/credential_types/) in env/envvars (CLOUDFLARE_API_TOKEN,
# CLOUDFLARE_ACCOUNT_ID; CLOUDFLARE_BASE_URL points at the simulator), the survey answers in env/extravars, the inventory in inventory/hosts. The run must succeed, the
# .pcap must be on disk, and the token must appear in no artifact of the job output (stdout, job events, ...).
set -eux

# shellcheck source=tests/integration/targets/setup_simulator/simulator.sh
source ../setup_simulator/simulator.sh

token="$(read_config cloudflare_api_token)"
account_id="$(read_config cloudflare_account_id)"
base_url="$(read_config cloudflare_base_url)"
# The modules must get the credential from the job's environment, not from ansible-test's.
unset CLOUDFLARE_API_TOKEN CLOUDFLARE_ACCOUNT_ID CLOUDFLARE_BASE_URL CLOUDFLARE_EMAIL CLOUDFLARE_API_KEY

simulator_post /reset
simulator_post /config '{"pending_seconds": 0.5, "running_seconds": 1, "conversion_seconds": 0.5, "download_packets": 100}'

pdd="$(mktemp -d "${OUTPUT_DIR:-/tmp}/awx-pdd-XXXXXX")"
evidence="$pdd/evidence"
mkdir -p "$pdd/project" "$pdd/env" "$pdd/inventory" "$evidence"
cp files/incident.yml "$pdd/project/incident.yml"
# AWX's localhost: a local connection with the Python that runs ansible-playbook (it has requests and jsonschema).
echo 'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"' > "$pdd/inventory/hosts"
# Where ansible-test put the collection under test (extensions/ is not in the integration directory's copy).
collection_dir="$(ansible-galaxy collection list cloudflare.pcap --format json \
    | python -c 'import json, sys; print(next(path for path, found in json.load(sys.stdin).items() if "cloudflare.pcap" in found))')/cloudflare/pcap"
python - "$pdd/env" "$token" "$account_id" "$base_url" "$evidence" "$collection_dir/extensions/awx/credential_types/cloudflare_pcap.yml" <<'PY'
import json, os, sys
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
env_dir, token, account_id, base_url, evidence, credential_type_path = sys.argv[1:]
# The credential type the collection ships, its env injectors rendered as AWX renders them (a sandboxed Jinja2
# environment, the credential's inputs as variables), plus the simulator's address; and the survey's answers.
with open(credential_type_path) as handle:
    credential_type = yaml.safe_load(handle)
sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
inputs = {'api_token': token, 'account_id': account_id}
envvars = {name: sandbox.from_string(template).render(**inputs) for name, template in credential_type['injectors']['env'].items()}
assert envvars == {'CLOUDFLARE_API_TOKEN': token, 'CLOUDFLARE_ACCOUNT_ID': account_id}, sorted(envvars)
envvars['CLOUDFLARE_BASE_URL'] = base_url
with open(os.path.join(env_dir, 'envvars'), 'w') as handle:
    json.dump(envvars, handle)
with open(os.path.join(env_dir, 'extravars'), 'w') as extravars:
    answers = {'target_address': '203.0.113.10', 'target_port': '443', 'capture_seconds': 30, 'incident_dir': evidence}
    # What AWX adds to every job's extra variables (its job id a number), with the older tower_ twins.
    job = {'awx_job_id': 4711, 'awx_job_template_name': 'Capture an attacked address', 'awx_user_name': 'soc-analyst'}
    job.update(('tower_' + name[len('awx_'):], value) for name, value in list(job.items()))
    json.dump(dict(answers, **job), extravars)
PY

ansible-runner run "$pdd" --playbook incident.yml --ident job1

python - "$pdd" "$token" <<'PY'
import glob, json, os, sys
pdd, token = sys.argv[1:]
artifacts = os.path.join(pdd, 'artifacts', 'job1')
with open(os.path.join(artifacts, 'status')) as status, open(os.path.join(artifacts, 'rc')) as rc:
    assert (status.read().strip(), rc.read().strip()) == ('successful', '0'), 'the job did not succeed'
events = [json.load(open(path)) for path in sorted(glob.glob(os.path.join(artifacts, 'job_events', '*.json')))]
assert any(event.get('event') == 'playbook_on_stats' for event in events), 'no playbook_on_stats event'
summaries = [event['event_data']['res']['msg'] for event in events
             if event.get('event') == 'runner_on_ok' and event['event_data'].get('task') == 'Show the summary']
assert len(summaries) == 1 and ' success: 100 packets' in summaries[0], summaries
pcaps = glob.glob(os.path.join(pdd, 'evidence', '*.pcap'))
assert len(pcaps) == 1 and os.path.getsize(pcaps[0]) > 24, pcaps
assert summaries[0].replace('\n', ' ').find(os.path.basename(pcaps[0])) >= 0, (summaries, pcaps)
# The secret must be in no artifact that makes up the job output: stdout, stderr, job_events, fact_cache, status.
# The one exception is ansible-runner's `command` file, its record of the process environment, which holds every
# variable the credential injected by design; it must be readable by its owner only (AWX does not show this file
# and masks such variables in the job's environment).
checked = 0
for directory, _subdirectories, files in os.walk(artifacts):
    for name in files:
        path = os.path.join(directory, name)
        if path == os.path.join(artifacts, 'command'):
            assert os.stat(path).st_mode & 0o077 == 0, 'the command artifact is readable by others'
            continue
        with open(path, 'rb') as artifact:
            assert token.encode() not in artifact.read(), 'the token leaked into %s' % path
        checked += 1
assert checked > len(events), 'too few artifacts to check'
# The custody record beside the capture names the AWX job, template and user, and holds no token.
manifests = glob.glob(os.path.join(pdd, 'evidence', '*.manifest.json'))
assert len(manifests) == 1, manifests
with open(manifests[0], 'rb') as manifest_file:
    manifest_bytes = manifest_file.read()
assert token.encode() not in manifest_bytes, 'the token leaked into the manifest'
ran_by = json.loads(manifest_bytes)['custody_log'][-1]['by']
expected = {'awx_job_id': '4711', 'awx_job_template_name': 'Capture an attacked address', 'awx_user_name': 'soc-analyst'}
expected.update(('tower_' + name[len('awx_'):], value) for name, value in list(expected.items()))
assert all(ran_by.get(name) == value for name, value in expected.items()), ran_by
print('ansible-runner job successful, %s, %d artifacts without the token' % (os.path.basename(pcaps[0]), checked))
PY
