# Copyright: cloudflare.pcap maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the plays of README.md and roles/incident_capture/README.md as written, against the simulator.

Usage: python readme_plays.py SIMULATOR_ADMIN_URL WORK_DIR   (runme.sh exports the CLOUDFLARE_* variables)

Every ```yaml block of the READMEs must be one of:
- a complete play (a list of plays, each with `hosts`): it runs with `ansible-playbook --check`, then for real, each
  time on a freshly reset simulator and a fresh directory tree, with no inventory and no extra variables, as a user
  runs it after the README's `export` lines;
- a fragment, marked on the line before the block with `<!-- readme-plays: fragment (tasks) -->` (a list of tasks)
  or `<!-- readme-plays: fragment (play keywords) -->` (keywords of a play): it is put into a play and must pass
  `ansible-playbook --syntax-check`.
Anything else fails the test, so that a new example cannot escape it.

The one change made to a play: THE SUBSTITUTION below points the README's /srv/incidents/ into WORK_DIR, so that the
test writes nothing outside it. Nothing else is rewritten.

The README's ad-hoc `ansible localhost -m ...` command runs as written too, and the output it promises is checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import urllib.request

import yaml

# THE SUBSTITUTION: README path -> the same path under WORK_DIR/root (the only rewrite of a README play).
README_ROOT_PATH = '/srv/incidents/'

FRAGMENT_MARK = re.compile(r'^<!-- readme-plays: fragment \((tasks|play keywords)\) -->$')
FENCE = re.compile(r'^```(\w*)\s*$')
PLAYBOOK_TIMEOUT = 300
# Captures that finish in about 2 s on the simulator's clock, so that the role's wait is short.
QUICK_CAPTURES = {'pending_seconds': 0.5, 'running_seconds': 1, 'conversion_seconds': 0.5}
CAPTURE_ID = r'[0-9a-f]{32}'


def fail(message: str) -> None:
    print('FAILED: ' + message, file=sys.stderr)
    sys.exit(1)


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


def simulator(admin_url: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(admin_url + path, data=data, method='GET' if data is None else 'POST',
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b'null')


def playbook(play_path: str, *options: str, cwd: str) -> str:
    """ansible-playbook PLAY, as a user runs it (no inventory, no extra vars); its output, or the test fails."""
    command = ['ansible-playbook', *options, play_path]
    print('$ ' + ' '.join(command), flush=True)
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=PLAYBOOK_TIMEOUT, check=False)
    print(done.stdout, flush=True)
    if done.returncode != 0:
        fail('%s failed with exit code %d' % (' '.join(command), done.returncode))
    return done.stdout


def check_fragment(name: str, kind: str, text: str, work_dir: str) -> None:
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
    playbook(path, '--syntax-check', cwd=work_dir)


def summary_pattern(dest_dir: str) -> str:
    """The role's summary line, as the README shows it (id, status, packets, bytes, path, sha256, top flow)."""
    return (r'Capture (%s) success: \d+ packets, \d+ bytes, saved to %s/(%s)\.pcap \(sha256 [0-9a-f]{6}[0-9a-f.]*\)\. '
            r'Top flow: \S+ -> \S+ \w+, \d+ packets?\.' % (CAPTURE_ID, re.escape(dest_dir), CAPTURE_ID))


def check_readme_claims(readme: str) -> None:
    """The README's export lines and its sample summary say what this test relies on."""
    exported = set(re.findall(r'^export (\w+)=', readme, re.MULTILINE))
    if exported != {'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ACCOUNT_ID'}:
        fail('the README exports %s; this test runs the plays with CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID' % sorted(exported))
    sample = re.search(r'^```\n(Capture .*?)\n```$', readme, re.MULTILINE | re.DOTALL)
    if not sample or not re.fullmatch(summary_pattern('/srv/incidents/INC-1234'), sample.group(1).replace('\n', ' ')):
        fail('the README\'s sample summary is not in the form the role prints: %r' % (sample and sample.group(1)))


def check_real_run(name: str, text: str, output: str, root: str, log: list) -> None:
    """What the README promises for a real run of this play."""
    creates = [entry for entry in log if entry['method'] == 'POST' and entry['path'].endswith('/pcaps')]
    if len(creates) != 1 or creates[0]['status'] != 200:
        fail('%s: expected one successful capture request, the simulator saw %s' % (name, [(e['path'], e['status']) for e in creates]))
    if 'cloudflare.pcap.capture_request' in text and 'register: capture' in text and 'debug' in text:
        if not re.search(r'"msg": "Capture %s is pending"' % CAPTURE_ID, output):
            fail('%s: no "Capture <id> is pending" in the output' % name)
    for dest_dir in sorted(set(re.findall(r'(%s[\w.-]+)' % re.escape(README_ROOT_PATH), text))):
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


def run_play(name: str, text: str, admin_url: str, work_dir: str, seen: dict) -> None:
    plays = yaml.safe_load(text)
    if not (isinstance(plays, list) and plays and all(isinstance(play, dict) and 'hosts' in play for play in plays)):
        fail('%s: a yaml block that is neither a complete play nor marked as a fragment (see readme_plays.py)' % name)
    if text in seen:
        print('%s: the same play as %s, which ran' % (name, seen[text]))
        return
    seen[text] = name
    root = os.path.join(work_dir, 'root')
    play_path = os.path.join(work_dir, 'play.yml')
    with open(play_path, 'w') as handle:
        handle.write(text.replace(README_ROOT_PATH, root + README_ROOT_PATH))  # THE SUBSTITUTION
    for check_mode in (True, False):
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        simulator(admin_url, '/reset', {})
        simulator(admin_url, '/config', QUICK_CAPTURES)
        output = playbook(play_path, *(['--check'] if check_mode else []), cwd=work_dir)
        log = simulator(admin_url, '/requests')
        if check_mode:
            if log:
                fail('%s: check mode sent %d requests' % (name, len(log)))
            written = [os.path.join(folder, entry) for folder, folders, files in os.walk(root) for entry in folders + files]
            if written:
                fail('%s: check mode wrote %s' % (name, written))
            if 'cloudflare.pcap.capture_request' in text and 'debug' in text and 'Check mode, nothing sent. Request body: {' not in output:
                fail('%s: check mode did not show the request body' % name)
        else:
            check_real_run(name, text, output, root, log)
    print('%s: ran as written in check mode and for real' % name)


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


def main() -> None:
    admin_url, work_dir = sys.argv[1:]
    root = collection_root()
    with open(os.path.join(root, 'README.md'), encoding='utf-8') as handle:
        readme = handle.read()
    check_readme_claims(readme)
    seen: dict[str, str] = {}
    counts = {'play': 0, 'fragment': 0}
    for document in ('README.md', os.path.join('roles', 'incident_capture', 'README.md')):
        for line, kind, text in yaml_blocks(os.path.join(root, document)):
            name = '%s line %d' % (document, line)
            if kind == 'play':
                run_play(name, text, admin_url, work_dir, seen)
                counts['play'] += 1
            else:
                check_fragment(name, kind, text, work_dir)
                print('%s: fragment (%s) passes --syntax-check' % (name, kind))
                counts['fragment'] += 1
    # README.md has three plays and two fragments, the role's README one play; fewer means the extraction broke.
    if counts['play'] < 4 or counts['fragment'] < 2:
        fail('found only %s in the READMEs' % counts)
    run_adhoc(readme, admin_url, work_dir)
    print('readme_plays: %(play)d plays ran in check mode and for real, %(fragment)d fragments parsed' % counts)


if __name__ == '__main__':
    main()
