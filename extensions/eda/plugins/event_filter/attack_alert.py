# Copyright: contributors to the cloudflare.pcap collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event filter: a Cloudflare DDoS attack notification as a packet capture filter, queued a minute apart.

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
    while its capture waits for its start slot or within O(repeat_window) seconds after that slot (Cloudflare allows
    one simple capture a minute). That memory survives a restart of the rulebook - it is kept in O(state_file).
  - The queue. Events reach the filter one at a time, in order, so it gives each capture a start slot, C(start_at)
    (Unix seconds) - now, or 65 seconds (Cloudflare's minute and 5 seconds for the time between a playbook's wake-up
    and its request) after the previous slot, whichever is later, also across a restart. Cloudflare allows one simple
    capture a minute per account (collect-pcaps, "Packet capture limits"), and the rulebook runs one account. The
    playbook waits for the slot (C(capture_request)'s C(not_before)) and looks back from the alert's time,
    C(alert_at) (its C(ts); now for a C(ts) in the future or older than 23 hours), given as C(offset_time)
    (RFC 3339), so that a capture that waited still covers the alert; C(queued_seconds) says how long it waits. As a playbook can reach its slot late
    (a busy host), the requests of the rulebook's playbooks also share C(spacing_file) (C(<state_file>.spacing)) -
    C(capture_request) requests under a lock on it, C(spacing) (60) seconds after the last request recorded there.
    The environment variable C(CLOUDFLARE_PCAP_TEST_MINUTE) replaces Cloudflare's 60 seconds (and scales the margin)
    - for tests against a simulator whose clock runs faster, never against Cloudflare.
  - A capture that fails does not keep its target. For a capture, C(marked_at) (its start slot) and
    C(release_file) (in the directory C(<state_file>.released), mode 0700) are added; when the capture fails,
    the playbook (C(cloudflare.pcap.attack_capture)) writes there C({"key", "marked_at", "reason"}), and at the next
    alert the filter forgets that capture, logs the reason and deletes the note. A note frees its target only while
    the capture it was written for is the latest of the target. The next capture of the account keeps its slot.
  - Nothing lost across a restart. The source C(cloudflare.pcap.notification_webhook) sends the alerts it accepted
    within its replay window again after a restart, with C(meta.spooled). The filter remembers for an hour what each
    alert (C(alert_correlation_id) and C(ts)) started, and the playbook leaves a note in C(done_file)
    (C(<state_file>.done)) once its capture exists. An alert sent again whose capture exists, or that started none,
    gets C(capture) false (C(handled before the rulebook restarted)); one whose capture was not requested before the
    stop is queued again.
  - For an alert that ends an attack on a single address (C(alert_event) C(ALERT_STATE_EVENT_END)), C(filter_v1) is
    set too - the rulebook then runs C(cloudflare.pcap.attack_end), which stops the full captures of that target.
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
    description: Seconds after a capture's start slot during which alerts of the same target start no capture (and
      while it waits for the slot).
    type: float
    default: 60
  state_file:
    description:
      - The file (mode 0600, in a directory created with mode 0700) that keeps, for each target, the start slot of its
        capture (Unix seconds), the last slot given, and what each alert of the last hour started, so that a restart
        of the rulebook forgets no capture, no slot and no alert. Only targets within O(repeat_window) are kept.
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
    secret_file: /etc/eda/cloudflare-webhook-secret
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

# Per state file: its Memory.
_memories = {}
# collect-pcaps.mdx ("Packet capture limits"): one sampled capture a minute per account. The margin absorbs the time
# between a playbook's wake-up at its slot and its request reaching Cloudflare.
CLOUDFLARE_MINUTE = 60.0
SLOT_MARGIN = 5.0
TEST_MINUTE_VARIABLE = 'CLOUDFLARE_PCAP_TEST_MINUTE'
# How long the fate of an alert is kept, for an alert the source sends again after a restart (its spool keeps an
# alert for its replay_window, 300 s by default).
ALERT_MEMORY_SECONDS = 3600.0
# How far back an alert's ts is looked back from: Cloudflare's 24 hours less the time a capture may wait in the queue.
OFFSET_TIME_LIMIT = 23 * 3600.0
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


class Memory:
    """What the filter keeps of one state file: `started`, per target key, the monotonic time from which its capture
    keeps the target (its start slot); `last_start_at`, the wall-clock start slot given last (Unix seconds); `alerts`,
    per alert id (correlation id and ts), what became of it: {'key', 'mark'} for a capture, {'handled': wall} for
    an alert that starts none."""

    def __init__(self, started=None, last_start_at=None, alerts=None):
        self.started = started or {}
        self.last_start_at = last_start_at
        self.alerts = alerts or {}


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_memory(path, now, wall):
    """The memory of a state file, its wall-clock times turned into times of the monotonic clock; empty when there is
    none or it cannot be read (said in the log). A file of the first format (target keys and times alone) is read."""
    try:
        with open(path, encoding='utf-8') as handle:
            saved = json.load(handle)
    except FileNotFoundError:
        return Memory()
    except (OSError, ValueError) as exc:
        logger.warning('Cannot read the state file %s, starting without it: %s', path, exc)
        return Memory()
    if not isinstance(saved, dict):
        return Memory()
    targets = saved.get('targets') if isinstance(saved.get('targets'), dict) else saved
    started = dict((key, now - (wall - at)) for key, at in targets.items() if isinstance(key, str) and is_number(at))
    last = saved.get('last_start_at') if is_number(saved.get('last_start_at')) else None
    alerts = saved.get('alerts') if isinstance(saved.get('alerts'), dict) else {}
    return Memory(started, last, dict((key, value) for key, value in alerts.items() if isinstance(value, dict)))


def save_memory(path, memory, now, wall):
    """Write the memory with wall-clock times, atomically, readable by the owner alone."""
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, mode=0o700, exist_ok=True)
    temporary = '%s.%d.tmp' % (path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            json.dump({'targets': dict((key, wall - (now - at)) for key, at in memory.started.items()),
                       'last_start_at': memory.last_start_at, 'alerts': memory.alerts}, handle)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def cloudflare_minute():
    """Cloudflare's minute, or the test-only CLOUDFLARE_PCAP_TEST_MINUTE: the seconds that stand for it with a
    simulator whose clock runs faster (never for Cloudflare)."""
    value = os.environ.get(TEST_MINUTE_VARIABLE)
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            logger.warning('%s=%r is no number of seconds: using %s', TEST_MINUTE_VARIABLE, value, CLOUDFLARE_MINUTE)
    return CLOUDFLARE_MINUTE


def capture_interval():
    """Seconds between the start slots of two captures: Cloudflare's minute and the margin, scaled with it."""
    return cloudflare_minute() * (CLOUDFLARE_MINUTE + SLOT_MARGIN) / CLOUDFLARE_MINUTE


def rfc3339(wall):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(wall)))


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
    """The note of one mark, written when its capture failed."""
    return os.path.join(release_directory(state_file), note_name(key, marked_at))


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


def done_directory(state_file):
    """Where the playbook leaves a note once the capture it was run for exists (see Memory.alerts)."""
    return state_file + '.done'


def note_name(key, marked_at):
    """The name of the notes of one mark: a digest of the target and the time, so that the playbook writes one file
    per capture and no name is taken from the alert."""
    return hashlib.sha256(('%s %.6f' % (key, marked_at)).encode('utf-8')).hexdigest()[:32] + '.json'


def forget_old_notes(directory, wall):
    """Done notes are needed while an alert may come again from the source's spool: ALERT_MEMORY_SECONDS."""
    try:
        for entry in os.scandir(directory):
            if entry.name.endswith('.json') and wall - entry.stat().st_mtime > ALERT_MEMORY_SECONDS:
                os.unlink(entry.path)
    except OSError:
        pass


def remember(state_file, memory, now, wall, key):
    try:
        save_memory(state_file, memory, now, wall)
    except OSError as exc:
        logger.warning('Cannot write the state file %s: the capture of %s is remembered until the rulebook stops: %s',
                       state_file, key, exc)


def make_note_directories(state_file, key):
    # After the state file: save_memory makes the parent directory with mode 0700 (makedirs's mode is the leaf's).
    for directory in (release_directory(state_file), done_directory(state_file)):
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            logger.warning('Cannot create %s: a failed capture of %s keeps its target until the window ends, and a '
                           'restart may capture it again: %s', directory, key, exc)


def memory_of(state_file, now, wall):
    if state_file not in _memories:
        _memories[state_file] = load_memory(state_file, now, wall)
    return _memories[state_file]


def handled_before(memory, alert_id, state_file, now, wall):
    """For an alert the source sends again after a restart: whether what it started is done (a capture that exists,
    or no capture at all). A capture decided but not requested before the stop frees its target and is decided again."""
    fate = memory.alerts.get(alert_id)
    if not fate:
        return False
    if 'handled' in fate:
        return True
    key, mark = fate.get('key'), fate.get('mark')
    if os.path.exists(os.path.join(done_directory(state_file), note_name(key, mark))):
        return True
    at = memory.started.get(key)
    # The mark on the monotonic clock against the wall-clock one: equal but for the clocks' drift.
    if at is not None and is_number(mark) and abs(at - (now - (wall - mark))) < 1:
        del memory.started[key]
        logger.warning('The capture of %s for alert %s was not requested before the rulebook stopped: it is queued again',
                       key, alert_id)
    return False


def decide(key, now, repeat_window, state_file, wall, alert_id=None, spooled=False):
    """What the alert of this target starts: ('capture', start_at), ('taken', seconds since the start slot of the
    capture that keeps the target, negative while it waits for it) or ('handled', None) for an alert sent again
    after a restart whose capture exists. Records a new capture and its start slot, in the state file too."""
    with _lock:
        memory = memory_of(state_file, now, wall)
        started = memory.started
        release_failed(started, state_file, now, wall)
        for old_key in [k for k, at in started.items() if now - at >= repeat_window]:
            del started[old_key]
        for old_id in [i for i, fate in memory.alerts.items() if wall - fate.get('at', 0) > ALERT_MEMORY_SECONDS]:
            del memory.alerts[old_id]
        if spooled and alert_id and handled_before(memory, alert_id, state_file, now, wall):
            return 'handled', None
        if key in started:
            if alert_id:
                memory.alerts[alert_id] = {'handled': wall, 'at': wall}
            remember(state_file, memory, now, wall, key)
            return 'taken', now - started[key]
        start_at = wall if memory.last_start_at is None else max(wall, memory.last_start_at + capture_interval())
        memory.last_start_at = start_at
        started[key] = now + (start_at - wall)
        if alert_id:
            memory.alerts[alert_id] = {'key': key, 'mark': start_at, 'at': wall}
        remember(state_file, memory, now, wall, key)
        make_note_directories(state_file, key)
        forget_old_notes(done_directory(state_file), wall)
        return 'capture', start_at


def taken_reason(key, since_start):
    """Why an alert of a target that a capture keeps starts none; since_start is negative while the capture waits."""
    if since_start < 0:
        when = 'is queued to start in %.0f seconds' % -since_start
    else:
        when = 'started %.0f seconds ago' % since_start
    return ('a capture for %s %s, and Cloudflare allows one packet capture a minute: this alert starts no second '
            'capture' % (key, when))


def alert_id_of(payload):
    """What tells alerts apart, as the source's replay check does: the correlation id and ts."""
    ts = payload.get('ts')
    return '%s %s' % (payload.get('alert_correlation_id') or '', ts) if is_number(ts) else None


def queued(attack, state_file, start_at, wall, ts):
    """The capture's start slot, the window it covers and where its notes go."""
    # Cloudflare looks back from offset_time within its last 24 hours only (spec pcaps_offset_time): a ts in the future
    # or older than that (an alert that did not come through the source's replay check) counts from its arrival.
    alert_at = ts if is_number(ts) and wall - OFFSET_TIME_LIMIT < ts <= wall else wall
    attack.update(capture=True, marked_at=start_at, start_at=start_at, alert_at=alert_at, offset_time=rfc3339(alert_at),
                  queued_seconds=max(0.0, start_at - wall))
    # Absolute: the playbook runs in a directory of ansible-runner's, not in the rulebook's.
    attack['release_file'] = os.path.abspath(release_file_of(state_file, attack['key'], start_at))
    attack['done_file'] = os.path.abspath(os.path.join(done_directory(state_file), note_name(attack['key'], start_at)))
    # Shared by the playbooks of this rulebook: their requests stay a minute apart even when one reaches its slot late.
    attack.update(spacing_file=os.path.abspath(state_file + '.spacing'), spacing=cloudflare_minute())


def attack_of(payload, repeat_window, now, state_file, wall, spooled=False):
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
    alert_id = alert_id_of(payload)
    outcome, value = decide(attack['key'], now, repeat_window, state_file, wall, alert_id, spooled)
    if outcome == 'capture':
        queued(attack, state_file, value, wall, payload.get('ts'))
    elif outcome == 'handled':
        attack.update(capture=False, reason='alert %s was handled before the rulebook restarted' % alert_id)
        del attack['filter_v1']
    else:
        attack.update(capture=False, reason=taken_reason(attack['key'], value))
    return attack


def main(event, alert_types=DEFAULT_ALERT_TYPES, repeat_window=60, state_file=''):
    payload = event.get('payload')
    if not isinstance(payload, dict) or payload.get('alert_type') not in alert_types:
        return event
    spooled = bool((event.get('meta') or {}).get('spooled'))
    attack = attack_of(payload, float(repeat_window), time.monotonic(), chosen_state_file(state_file), time.time(), spooled)
    if not attack['capture']:
        logger.info('Cloudflare alert %s: no capture: %s', attack['alert_type'], attack['reason'])
    event['cloudflare_attack'] = attack
    return event
