# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the plays of README.md, roles/incident_capture/README.md and every guide (docs/docsite/rst/*.rst) as
written, against the simulator.

Usage: python readme_plays.py SIMULATOR_ADMIN_URL WORK_DIR   (runme.sh exports the CLOUDFLARE_* variables)

Every ```yaml block of the READMEs and every `.. code-block:: yaml` of the guides must be one of:
- a complete play (a list of plays, each with `hosts`): it runs with `ansible-playbook --check`, then for real, each
  time on a freshly reset simulator and a fresh directory tree, with no inventory, as a user runs it after the
  README's `export` lines. Check mode may read but must not change anything: every request it sends is a GET, and
  it writes no file. A README play gets no extra variables; a guide's play gets the variables its page leaves to
  the reader (GUIDE_VARIABLES: the Vault values, the AWX survey's answers), which no play may define itself;
- a fragment, marked on the line before the block with `<!-- readme-plays: fragment (tasks) -->` (a list of tasks)
  or `<!-- readme-plays: fragment (play keywords) -->` (keywords of a play), in a guide with the comment
  `.. readme-plays: fragment (tasks)`: it is put into a play and must pass `ansible-playbook --syntax-check`;
- in a guide, YAML that is no play (an ansible-builder definition, an inventory, an AWX credential type), marked
  `.. readme-plays: not a play (what it is)`: it must parse.
Anything else fails the test, so that a new example cannot escape it.

The one change made to a play: THE SUBSTITUTION below points the README's /srv/incidents/ into WORK_DIR, so that the
test writes nothing outside it. Nothing else is rewritten. One module is a stand-in: amazon.aws.s3_object, with which
the bucket guide fetches Cloudflare's ownership challenge file from the bucket, is stand_ins/.../s3_object.py, which
fetches it from the simulator's stand-in for the bucket (the directory the simulator writes challenge files to).

The README's ad-hoc `ansible localhost -m ...` command runs as written too, and the output it promises is checked.
So do its commands that try the collection against the simulator, in a directory laid out like a clone's root, with
the README's first play as capture.yml; THE PORT SUBSTITUTION gives the simulator a free port instead of the
README's, so that parallel runs do not collide.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import urllib.request

import yaml

# THE SUBSTITUTION: README path -> the same path under WORK_DIR/root (the only rewrite of a README play).
README_ROOT_PATH = '/srv/incidents/'
# THE PORT SUBSTITUTION: the port of the README's simulator commands -> a free one.
README_SIMULATOR_PORT = '8765'

FRAGMENT_MARK = re.compile(r'^<!-- readme-plays: fragment \((tasks|play keywords)\) -->$')
FENCE = re.compile(r'^```(\w*)\s*$')
GUIDE_MARK = re.compile(r'^\.\. readme-plays: (?:fragment \((tasks|play keywords)\)|not a play \((.+)\))$')
CODE_BLOCK = re.compile(r'^(\s*)\.\. code-block:: (\w+)\s*$')
GUIDES = os.path.join('docs', 'docsite', 'rst')
# What a guide leaves to its reader, with the values a reader would give against the simulator (env: from runme.sh).
GUIDE_VARIABLES = {
    'cloudflare_api_token': 'env:CLOUDFLARE_API_TOKEN',
    'cloudflare_account_id': 'env:CLOUDFLARE_ACCOUNT_ID',
    'vault_r2_account_id': '0f0e0d0c0b0a09080706050403020100',
    'vault_r2_access_key_id': 'READMEPLAYSKEYID',
    'vault_r2_secret_access_key': 'READMEPLAYSSECRETVALUE',
    'target_address': '203.0.113.10',
    'target_port': '443',
    'capture_seconds': 60,
    'incident_dir': 'root:/srv/incidents/awx',
}
SECRET_VALUES = ('READMEPLAYSSECRETVALUE',)
# The bucket guide's validation: pending for 1 simulated second instead of 5 to 10 minutes.
BUCKET_STORE_CONFIG = {'validation_pending_seconds': 1}
STAND_INS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stand_ins')
PLAYBOOK_TIMEOUT = 300
# Captures that finish in about 2 s on the simulator's clock, so that the role's wait is short.
QUICK_CAPTURES = {'pending_seconds': 0.5, 'running_seconds': 1, 'conversion_seconds': 0.5}
CAPTURE_ID = r'[0-9a-f]{32}'


def fail(message: str) -> None:
    print('FAILED: ' + message, file=sys.stderr)
    sys.exit(1)


@functools.lru_cache(maxsize=None)
def collection_root() -> str:
    """Where ansible-test put the collection under test (README.md is not in the integration directory's copy)."""
    listed = json.loads(subprocess.run(['ansible-galaxy', 'collection', 'list', 'cloudflare.pcap', '--format', 'json'],
                                       check=True, capture_output=True, text=True).stdout)
    for path, collections in listed.items():
        if 'cloudflare.pcap' in collections:
            return os.path.join(path, 'cloudflare', 'pcap')
    fail('ansible-galaxy does not list cloudflare.pcap')
    return ''


def yaml_blocks(path: str) -> list[tuple[int, str, str]]:
    """(line number, kind, text) of every ```yaml block; kind is 'play', 'tasks' or 'play keywords'."""
    with open(path, encoding='utf-8') as handle:
        lines = handle.read().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != '```':
            end += 1
        if fence.group(1) in ('yaml', 'yml'):
            previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), '')
            mark = FRAGMENT_MARK.match(previous)
            blocks.append((index + 1, mark.group(1) if mark else 'play', '\n'.join(lines[index + 1:end]) + '\n'))
        index = end + 1
    return blocks


def rst_yaml_blocks(path: str) -> list[tuple[int, str, str]]:
    """(line number, kind, text) of every `.. code-block:: yaml` of a guide; kind is 'play', 'tasks',
    'play keywords' or 'other' (marked as no play)."""
    with open(path, encoding='utf-8') as handle:
        lines = handle.read().splitlines()
    blocks = []
    for index, line in enumerate(lines):
        directive = CODE_BLOCK.match(line)
        if not directive or directive.group(2) not in ('yaml', 'yml'):
            continue
        indent = len(directive.group(1))
        end = index + 1
        while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        body = lines[index + 1:end]
        margin = min(len(text) - len(text.lstrip()) for text in body if text.strip())
        previous = next((text.strip() for text in reversed(lines[:index]) if text.strip()), '')
        mark = GUIDE_MARK.match(previous)
        kind = 'play' if not mark else mark.group(1) or 'other'
        blocks.append((index + 1, kind, '\n'.join(text[margin:] for text in body).strip('\n') + '\n'))
    return blocks


def guide_variables(root: str) -> dict:
    values = {}
    for name, value in GUIDE_VARIABLES.items():
        if isinstance(value, str) and value.startswith('env:'):
            value = os.environ[value[4:]]
        elif isinstance(value, str) and value.startswith('root:'):
            value = root + value[5:]
        values[name] = value
    return values


def guide_environment(bucket_store: str) -> dict:
    """The environment of a guide's play: the stand-in collections beside the collection under test."""
    collections = os.path.dirname(os.path.dirname(os.path.dirname(collection_root())))
    return dict(os.environ, CFPCAP_BUCKET_STORE=bucket_store, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join((STAND_INS, collections)))


def simulator(admin_url: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(admin_url + path, data=data, method='GET' if data is None else 'POST',
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b'null')


def playbook(play_path: str, *options: str, cwd: str, env=None) -> str:
    """ansible-playbook PLAY, as a user runs it (no inventory); its output, or the test fails."""
    command = ['ansible-playbook', *options, play_path]
    print('$ ' + ' '.join(command), flush=True)
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=PLAYBOOK_TIMEOUT, check=False, env=env)
    print(done.stdout, flush=True)
    if done.returncode != 0:
        fail('%s failed with exit code %d' % (' '.join(command), done.returncode))
    return done.stdout


def check_fragment(name: str, kind: str, text: str, work_dir: str, env=None) -> None:
    fragment = yaml.safe_load(text)
    if kind == 'tasks':
        if not (isinstance(fragment, list) and all(isinstance(task, dict) for task in fragment)):
            fail('%s: a fragment marked (tasks) is not a list of tasks' % name)
        play = {'name': 'Fragment', 'hosts': 'localhost', 'gather_facts': False, 'tasks': fragment}
    else:
        if not isinstance(fragment, dict) or 'hosts' in fragment or 'tasks' in fragment:
            fail('%s: a fragment marked (play keywords) is not a mapping of play keywords without hosts and tasks' % name)
        play = dict({'name': 'Fragment', 'hosts': 'localhost', 'gather_facts': False, 'tasks': []}, **fragment)
    path = os.path.join(work_dir, 'fragment.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump([play], handle, sort_keys=False)
    playbook(path, '--syntax-check', cwd=work_dir, env=env)


def summary_pattern(dest_dir: str) -> str:
    """The role's summary line, as the README shows it (id, status, packets, bytes, path, sha256, top flow)."""
    return (r'Capture (%s) success: \d+ packets, \d+ bytes, saved to %s/(%s)\.pcap \(sha256 [0-9a-f]{6}[0-9a-f.]*\)\. '
            r'Top flow: \S+ -> \S+ \w+, \d+ packets?\.' % (CAPTURE_ID, re.escape(dest_dir), CAPTURE_ID))


def check_readme_claims(readme: str) -> None:
    """The README's export lines and its sample summary say what this test relies on."""
    exported = set(re.findall(r'^export (\w+)=', readme.split('\n## Try it, test it\n')[0], re.MULTILINE))
    if exported != {'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID'}:
        fail('the README exports %s; this test runs the plays with CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID' % sorted(exported))
    sample = re.search(r'^```\n(Capture .*?)\n```$', readme, re.MULTILINE | re.DOTALL)
    if not sample or not re.fullmatch(summary_pattern('/srv/incidents/INC-1234'), sample.group(1).replace('\n', ' ')):
        fail('the README\'s sample summary is not in the form the role prints: %r' % (sample and sample.group(1)))


def check_real_run(name: str, text: str, output: str, root: str, log: list) -> None:
    """What the README (or the guide) promises for a real run of this play."""
    creates = [entry for entry in log if entry['method'] == 'POST' and entry['path'].endswith('/pcaps')]
    if len(creates) != 1 or creates[0]['status'] != 200:
        fail('%s: expected one successful capture request, the simulator saw %s' % (name, [(e['path'], e['status']) for e in creates]))
    if 'cloudflare.pcap.capture_request' in text and 'register: capture' in text and 'debug' in text:
        if not re.search(r'"msg": "Capture %s is pending"' % CAPTURE_ID, output):
            fail('%s: no "Capture <id> is pending" in the output' % name)
    dest_dirs = set(re.findall(r'(%s[\w.-]+)' % re.escape(README_ROOT_PATH), text))
    if re.search(r'\bincident_dir\b', text):  # a guide's play that writes where its reader says
        dest_dirs.add(GUIDE_VARIABLES['incident_dir'][len('root:'):])
    for dest_dir in sorted(dest_dirs):
        local_dir = os.path.join(root, dest_dir.lstrip('/'))
        if stat.S_IMODE(os.stat(local_dir).st_mode) != 0o700:
            fail('%s: %s is not mode 0700' % (name, dest_dir))
        pcaps = [entry for entry in os.listdir(local_dir) if entry.endswith('.pcap')]
        if len(pcaps) != 1 or stat.S_IMODE(os.stat(os.path.join(local_dir, pcaps[0])).st_mode) != 0o600:
            fail('%s: expected one .pcap of mode 0600 in %s, found %s' % (name, dest_dir, pcaps))
        if 'incident_capture' in text:
            shown = re.search(summary_pattern(local_dir), output)
            if not shown or shown.group(1) != shown.group(2) or pcaps[0] != shown.group(1) + '.pcap':
                fail('%s: the role printed no summary in the README\'s form for %s' % (name, pcaps[0]))


def run_play(name: str, text: str, admin_url: str, work_dir: str, seen: dict, guide: bool = False) -> None:
    plays = yaml.safe_load(text)
    if not (isinstance(plays, list) and plays and all(isinstance(play, dict) and 'hosts' in play for play in plays)):
        fail('%s: a yaml block that is neither a complete play nor marked as a fragment (see readme_plays.py)' % name)
    if text in seen:
        print('%s: the same play as %s, which ran' % (name, seen[text]))
        return
    seen[text] = name
    run_dir = os.path.join(work_dir, 'run')
    root = os.path.join(run_dir, 'root')
    bucket_store = os.path.join(work_dir, 'bucket-store')
    options, env = [], None
    if guide:
        defined = sorted(set(GUIDE_VARIABLES) & set(key for play in plays for key in play.get('vars') or {}))
        if defined:
            fail('%s: the play defines %s, which the test gives as the reader\'s own' % (name, defined))
        extra_vars = os.path.join(work_dir, 'reader-vars.json')
        with open(extra_vars, 'w') as handle:
            json.dump(guide_variables(root), handle)
        options = ['--extra-vars', '@' + extra_vars]
        env = guide_environment(bucket_store)
    for check_mode in (True, False):
        for folder in (run_dir, bucket_store):
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
        os.makedirs(root)
        play_path = os.path.join(run_dir, 'play.yml')
        with open(play_path, 'w') as handle:
            handle.write(text.replace(README_ROOT_PATH, root + README_ROOT_PATH))  # THE SUBSTITUTION
        simulator(admin_url, '/reset', {})
        simulator(admin_url, '/config', dict(QUICK_CAPTURES, challenge_dir=bucket_store, **BUCKET_STORE_CONFIG))
        output = playbook(play_path, *(options + (['--check'] if check_mode else [])), cwd=run_dir, env=env)
        log = simulator(admin_url, '/requests')
        leaked = [secret for secret in SECRET_VALUES if secret in output]
        if leaked:
            fail('%s: the output shows %s' % (name, leaked))
        if check_mode:
            check_check_run(name, text, output, run_dir, play_path, log)
        else:
            check_real_run(name, text, output, root, log)
    print('%s: ran as written in check mode and for real' % name)


def check_check_run(name: str, text: str, output: str, run_dir: str, play_path: str, log: list) -> None:
    """Check mode reads (a capture request verifies the credentials with one read) and changes nothing."""
    changes = [(entry['method'], entry['path']) for entry in log if entry['method'] != 'GET']
    if changes:
        fail('%s: check mode sent requests that change something: %s' % (name, changes))
    if 'cloudflare.pcap.capture_request' in text or 'cloudflare.pcap.incident_capture' in text:
        if not any(entry['path'].endswith('/pcaps') and entry['status'] == 200 for entry in log):
            fail('%s: check mode did not verify the credentials by reading the capture list' % name)
    written = [os.path.join(folder, entry) for folder, folders, files in os.walk(run_dir) for entry in folders + files
               if os.path.join(folder, entry) not in (play_path, os.path.join(run_dir, 'root'))]
    if written:
        fail('%s: check mode wrote %s' % (name, written))
    if 'cloudflare.pcap.capture_request' in text and 'debug' in text and 'Check mode, nothing requested. Request body: {' not in output:
        fail('%s: check mode did not show the request body' % name)


def run_adhoc(readme: str, admin_url: str, work_dir: str) -> None:
    """The README's `ansible localhost -m ...` command, as written."""
    commands = re.findall(r'^(ansible localhost -m (?:[^\n]*\\\n)*[^\n]*)$', readme, re.MULTILINE)
    if len(commands) != 1:
        fail('expected one ad-hoc `ansible localhost -m` command in the README, found %d' % len(commands))
    simulator(admin_url, '/reset', {})
    print('$ ' + commands[0], flush=True)
    done = subprocess.run(['bash', '-c', commands[0]], cwd=work_dir, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
    print(done.stdout + done.stderr, flush=True)
    if done.returncode != 0 or not done.stdout.startswith('localhost | CHANGED => '):
        fail('the ad-hoc command did not print "localhost | CHANGED => {...}"')
    result = json.loads(done.stdout.split(' => ', 1)[1])
    if not re.fullmatch(CAPTURE_ID, result.get('id', '')) or result.get('status') != 'pending':
        fail('the ad-hoc command returned no capture id and status: %s' % result)
    print('README ad-hoc command: capture %s %s' % (result['id'], result['status']))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def run_simulator_try(readme: str, root: str, first_play: str, work_dir: str) -> None:
    """The README's commands that try the collection against the simulator, as written (but THE PORT SUBSTITUTION),
    from a directory laid out like a clone's root, without the CLOUDFLARE_* variables of this test."""
    scripts = [block for block in re.findall(r'^```sh\n(.*?)^```$', readme, re.MULTILINE | re.DOTALL) if 'cfpcap_sim.py' in block]
    if len(scripts) != 1 or README_SIMULATOR_PORT not in scripts[0]:
        fail('expected one ```sh block that starts tests/simulator/cfpcap_sim.py on port %s' % README_SIMULATOR_PORT)
    script = scripts[0].replace(README_SIMULATOR_PORT, str(free_port()))  # THE PORT SUBSTITUTION
    clone = os.path.join(work_dir, 'clone')
    shutil.rmtree(clone, ignore_errors=True)
    os.makedirs(clone)
    for part in ('tests', 'docs'):
        os.symlink(os.path.join(root, part), os.path.join(clone, part))
    with open(os.path.join(clone, 'capture.yml'), 'w') as handle:
        handle.write(first_play)
    env = dict((name, value) for name, value in os.environ.items() if not name.startswith('CLOUDFLARE_'))
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']  # python3 with jsonschema, as required
    print('$ ' + script, flush=True)
    # Output to a file, not a pipe: a simulator left running would hold a pipe open.
    log_path = os.path.join(work_dir, 'simulator-try.log')
    command = ['bash', '-e', '-c', script]
    with open(log_path, 'w') as log, \
            subprocess.Popen(command, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True) as done:
        try:
            done.wait(timeout=PLAYBOOK_TIMEOUT)
        finally:
            try:
                os.killpg(done.pid, signal.SIGTERM)  # the simulator, should `kill %1` not have been reached
            except ProcessLookupError:
                pass
    with open(log_path, encoding='utf-8') as log:
        output = log.read()
    print(output, flush=True)
    if done.returncode != 0:
        fail('the README\'s simulator commands failed with exit code %d' % done.returncode)
    if 'Check mode, nothing requested. Request body: {' not in output or not re.search(
            r'"msg": "Capture %s is pending"' % CAPTURE_ID, output):
        fail('the README\'s simulator commands did not run capture.yml in check mode and for real')
    print('README simulator commands: ran as written')


def main() -> None:
    admin_url, work_dir = sys.argv[1:]
    root = collection_root()
    with open(os.path.join(root, 'README.md'), encoding='utf-8') as handle:
        readme = handle.read()
    check_readme_claims(readme)
    seen: dict[str, str] = {}
    counts = {'play': 0, 'fragment': 0, 'other': 0}
    guides = sorted(os.path.join(GUIDES, entry) for entry in os.listdir(os.path.join(root, GUIDES)) if entry.endswith('.rst'))
    documents = [('README.md', yaml_blocks), (os.path.join('roles', 'incident_capture', 'README.md'), yaml_blocks)]
    for document, blocks in documents + [(guide, rst_yaml_blocks) for guide in guides]:
        for line, kind, text in blocks(os.path.join(root, document)):
            name = '%s line %d' % (document, line)
            if kind == 'play':
                run_play(name, text, admin_url, work_dir, seen, guide=blocks is rst_yaml_blocks)
                counts['play'] += 1
            elif kind == 'other':
                yaml.safe_load(text)
                print('%s: YAML that is no play, parses' % name)
                counts['other'] += 1
            else:
                check_fragment(name, kind, text, work_dir, env=guide_environment(os.path.join(work_dir, 'bucket-store'))
                               if blocks is rst_yaml_blocks else None)
                print('%s: fragment (%s) passes --syntax-check' % (name, kind))
                counts['fragment'] += 1
    # README.md has three plays and two fragments, the role's README one play, the guides three plays (guide,
    # buckets, awx), two fragments and nine blocks that are no play; fewer means the extraction broke.
    if counts['play'] < 7 or counts['fragment'] < 4 or counts['other'] < 9:
        fail('found only %s in the READMEs and guides' % counts)
    run_adhoc(readme, admin_url, work_dir)
    first_play = next(text for _line, kind, text in yaml_blocks(os.path.join(root, 'README.md')) if kind == 'play')
    run_simulator_try(readme, root, first_play, work_dir)
    print('readme_plays: %(play)d plays ran in check mode and for real, %(fragment)d fragments parsed, %(other)d other '
          'YAML blocks parsed' % counts)


if __name__ == '__main__':
    main()
