# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event filter: a Cloudflare DDoS attack notification as a packet capture filter, once a minute.

The fields are those of Cloudflare's "Webhook payload schema" (developers.cloudflare.com/notifications/reference/
webhook-payload-schema/, example "DDoS attack (Layer 4)"): ``alert_type``, ``alert_event`` and ``data`` with
``target_ip``, ``target_port`` and ``protocol``.

Why a filter and not a rule ``throttle``: in ansible-rulebook 1.3 a rule throttled with ``once_within`` drops the
repeated event without a word, and the throttled rule keeps the event from every other rule even with
``match_multiple_rules: true``, so no rule can report it. Here the decision is made once per event and written
into the event, and the rules act on it and say it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import threading
import time

DOCUMENTATION = r"""
---
short_description: Turn a Cloudflare DDoS attack notification into a capture decision and a filter_v1.
description:
  - For a Cloudflare notification (C(event.payload)) whose C(alert_type) is one of O(alert_types), adds
    C(event.cloudflare_attack) with C(target) (C(address), C(port), C(protocol)), C(filter_v1) (the
    C(destination_address), and C(destination_port) and C(protocol) when the alert gives them), C(key),
    C(alert_type), C(alert_event), C(attack_id), C(attack_vector), C(policy_name) and C(capture).
  - C(capture) is true for the first alert of a target; false, with C(reason), for an alert that ends an attack,
    for a target that is not a single address, and for an alert of the same target (address, port and protocol)
    within O(repeat_window) seconds of the alert that started its capture (Cloudflare allows one simple capture a
    minute). That memory survives a restart of the rulebook - it is kept in O(state_file).
  - A capture that fails does not keep its target. For a capture, C(marked_at) (the alert's Unix time) and
    C(release_file) (in the directory C(<state_file>.released), mode 0700) are added; when the capture fails,
    the playbook (C(cloudflare.pcap.attack_capture)) writes there C({"key", "marked_at", "reason"}), and at the next
    alert the filter forgets that capture, logs the reason and deletes the note. A note frees its target only while
    the capture it was written for is the latest of the target.
  - For an alert that ends an attack on a single address (C(alert_event) C(ALERT_STATE_EVENT_END)), C(filter_v1) is
    set too: the rulebook then runs C(cloudflare.pcap.attack_end), which stops the full captures of that target.
  - Other events pass unchanged.
  - Cloudflare documents the payload of C(advanced_ddos_attack_l4_alert) only; C(dos_attack_l4) (the standard
    "Layer 3/4 DDoS Attack Alert") is read with the same fields.
options:
  alert_types:
    description: The alert types to act on.
    type: list
    elements: str
    default: [advanced_ddos_attack_l4_alert, dos_attack_l4]
  repeat_window:
    description: Seconds after a capture's alert during which alerts of the same target start no capture.
    type: float
    default: 60
  state_file:
    description:
      - The file (mode 0600, in a directory created with mode 0700) that keeps, for each target, when the alert that
        started its capture came (Unix seconds), so that a restart of the rulebook forgets no capture of the last
        O(repeat_window) seconds. Only targets within that window are kept.
      - Empty or not given - the environment variable C(CLOUDFLARE_PCAP_STATE_FILE) of the rulebook's process, else
        C(cloudflare.pcap/attack_alert.json) under C($XDG_STATE_HOME), or under C(~/.local/state) when that is not set.
      - ansible-rulebook 1.3 does not template a filter's arguments, so a value holding C({{) (a template that reached
        the filter as written) is ignored, with a warning, as if none were given.
    type: str
    default: ''
"""

EXAMPLES = r"""
- cloudflare.pcap.notification_webhook:
    port: 5000
    secret: "{{ CLOUDFLARE_WEBHOOK_SECRET }}"
  filters:
    - cloudflare.pcap.attack_alert:
        repeat_window: 60
"""

DEFAULT_ALERT_TYPES = ('advanced_ddos_attack_l4_alert', 'dos_attack_l4')
ENDED = 'ALERT_STATE_EVENT_END'
# IANA protocol numbers of the names Cloudflare's analytics use for the IP protocol.
PROTOCOL_NUMBERS = {'icmp': 1, 'igmp': 2, 'tcp': 6, 'udp': 17, 'gre': 47, 'esp': 50, 'ah': 51, 'icmpv6': 58,
                    'ipv6-icmp': 58, 'sctp': 132}
COPIED_FIELDS = ('alert_type', 'alert_event', 'policy_name', 'account_id', 'alert_correlation_id')
COPIED_DATA_FIELDS = ('attack_id', 'attack_vector', 'rule_name', 'start_time', 'max_rate')

logger = logging.getLogger('cloudflare.pcap.attack_alert')

# Per state file: the monotonic time of the alert that started the last capture, per target key.
_memories = {}
_lock = threading.Lock()
STATE_FILE_NAME = os.path.join('cloudflare.pcap', 'attack_alert.json')


STATE_FILE_VARIABLE = 'CLOUDFLARE_PCAP_STATE_FILE'


def default_state_file():
    if os.environ.get(STATE_FILE_VARIABLE):
        return os.environ[STATE_FILE_VARIABLE]
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, STATE_FILE_NAME)


def chosen_state_file(given):
    """The state file: the option's, unless empty or a template that ansible-rulebook 1.3 left as written (it does not
    template filter arguments: a folder named after the template would be made), else default_state_file()."""
    if given and '{{' in given:
        logger.warning('The state_file option %r is a template, which ansible-rulebook does not render in a filter\'s '
                       'arguments: using %s (set %s to choose the file)', given, default_state_file(), STATE_FILE_VARIABLE)
        return default_state_file()
    return given or default_state_file()


def load_memory(path, now, wall):
    """The targets of a state file, their wall-clock times turned into times of the monotonic clock; {} when there
    is none or it cannot be read (said in the log)."""
    try:
        with open(path, encoding='utf-8') as handle:
            saved = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning('Cannot read the state file %s, starting without it: %s', path, exc)
        return {}
    if not isinstance(saved, dict):
        return {}
    return dict((key, now - (wall - at)) for key, at in saved.items()
                if isinstance(key, str) and isinstance(at, (int, float)) and not isinstance(at, bool))


def save_memory(path, started, now, wall):
    """Write the targets with wall-clock times, atomically, readable by the owner alone."""
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = '%s.%d.tmp' % (path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            json.dump(dict((key, wall - (now - at)) for key, at in started.items()), handle)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def parse_address(value):
    """The single address an alert targets, in normal form, or (None, why not)."""
    text = str(value or '').strip()
    if not text:
        return None, 'the alert names no target_ip'
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None, 'target_ip %r is not an IP address' % text
    if network.num_addresses != 1:
        return None, 'the target %s is a prefix, and a capture filter takes one address' % text
    return str(network.network_address), None


def parse_port(value):
    """The attacked port, or None when the alert gives none (Cloudflare's example sends 0 for none)."""
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return port if 0 < port <= 65535 else None


def parse_protocol(value):
    """The IP protocol number of a name (TCP, UDP, ...) or a number, or None when unknown or absent."""
    text = str(value if value is not None else '').strip().lower()
    if text.isdigit():
        number = int(text)
        return number if number <= 255 else None
    return PROTOCOL_NUMBERS.get(text)


def describe(target):
    text = target['address']
    if target['port'] is not None:
        text += ' port %d' % target['port']
    if target['protocol'] is not None:
        text += ' protocol %d' % target['protocol']
    return text


def release_directory(state_file):
    """Where the playbook leaves a note when the capture it was run for failed (see release_failed)."""
    return state_file + '.released'


def release_file_of(state_file, key, marked_at):
    """The note of one mark: its name is a digest of the target and the time, so that the playbook writes one file
    per capture and no name is taken from the alert."""
    digest = hashlib.sha256(('%s %.6f' % (key, marked_at)).encode('utf-8')).hexdigest()[:32]
    return os.path.join(release_directory(state_file), digest + '.json')


def release_failed(started, state_file, now, wall):
    """Free the targets whose capture failed: the playbook (playbooks/attack_capture.yml, rescue) has written a note
    {key, marked_at, reason} for each. A note frees its target only while the mark it was written for is the
    current one, so that a late failure never frees a newer capture's target. Returns whether a mark was freed."""
    directory = release_directory(state_file)
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith('.json'))
    except OSError:
        return False
    freed = False
    for name in names:
        path = os.path.join(directory, name)
        try:
            with open(path, encoding='utf-8') as handle:
                note = json.load(handle)
            os.unlink(path)
        except (OSError, ValueError) as exc:
            logger.warning('Cannot read the note of a failed capture %s: %s', path, exc)
            continue
        if not isinstance(note, dict) or not isinstance(note.get('marked_at'), (int, float)):
            continue
        key = note.get('key')
        mark = started.get(key)
        # The mark on the monotonic clock against the note's wall-clock time: equal but for the clocks' drift.
        if mark is not None and abs(mark - (now - (wall - note['marked_at']))) < 1:
            del started[key]
            freed = True
            logger.warning('The capture of %s failed (%s): the target is free, the next alert for it starts a capture',
                           key, note.get('reason') or 'no reason given')
    return freed


def remember(state_file, started, now, wall, key):
    try:
        save_memory(state_file, started, now, wall)
    except OSError as exc:
        logger.warning('Cannot write the state file %s: the capture of %s is remembered until the rulebook stops: %s',
                       state_file, key, exc)


def decide(key, now, repeat_window, state_file, wall):
    """Whether the alert of this target starts a capture, and how long ago the capture that keeps it from it
    started; records a new capture, in the state file too."""
    with _lock:
        if state_file not in _memories:
            _memories[state_file] = load_memory(state_file, now, wall)
        started = _memories[state_file]
        freed = release_failed(started, state_file, now, wall)
        for old_key in [k for k, at in started.items() if now - at >= repeat_window]:
            del started[old_key]
        if key in started:
            if freed:
                remember(state_file, started, now, wall, key)
            return False, now - started[key]
        started[key] = now
        # After the state file: save_memory makes the parent directory with mode 0700 (makedirs's mode is the leaf's).
        remember(state_file, started, now, wall, key)
        try:
            os.makedirs(release_directory(state_file), mode=0o700, exist_ok=True)
        except OSError as exc:
            logger.warning('Cannot create %s: a failed capture of %s keeps its target until the window ends: %s',
                           release_directory(state_file), key, exc)
        return True, None


def attack_of(payload, repeat_window, now, state_file, wall):
    data = payload.get('data') if isinstance(payload.get('data'), dict) else {}
    attack = dict((name, payload.get(name)) for name in COPIED_FIELDS)
    attack.update((name, data.get(name)) for name in COPIED_DATA_FIELDS)
    address, problem = parse_address(data.get('target_ip'))
    target = {'address': address, 'port': parse_port(data.get('target_port')), 'protocol': parse_protocol(data.get('protocol'))}
    attack['target'] = target
    attack['given_protocol'] = data.get('protocol')
    if problem:
        attack.update(capture=False, reason=problem)
        return attack
    filter_v1 = {'destination_address': address}
    if target['port'] is not None:
        filter_v1['destination_port'] = target['port']
    if target['protocol'] is not None:
        filter_v1['protocol'] = target['protocol']
    attack['filter_v1'] = filter_v1
    attack['key'] = describe(target)
    if payload.get('alert_event') == ENDED:
        attack.update(capture=False, reason='the alert says the attack on %s ended' % attack['key'])
        return attack
    capture, seconds_ago = decide(attack['key'], now, repeat_window, state_file, wall)
    attack['capture'] = capture
    if capture:
        attack['marked_at'] = wall
        # Absolute: the playbook runs in a directory of ansible-runner's, not in the rulebook's.
        attack['release_file'] = os.path.abspath(release_file_of(state_file, attack['key'], wall))
    if not capture:
        attack['reason'] = ('a capture for %s started %.0f seconds ago, and Cloudflare allows one packet capture a minute: '
                            'this alert starts no second capture' % (attack['key'], seconds_ago))
    return attack


def main(event, alert_types=DEFAULT_ALERT_TYPES, repeat_window=60, state_file=''):
    payload = event.get('payload')
    if not isinstance(payload, dict) or payload.get('alert_type') not in alert_types:
        return event
    attack = attack_of(payload, float(repeat_window), time.monotonic(), chosen_state_file(state_file), time.time())
    if not attack['capture']:
        logger.info('Cloudflare alert %s: no capture: %s', attack['alert_type'], attack['reason'])
    event['cloudflare_attack'] = attack
    return event
