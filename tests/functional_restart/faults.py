#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Faults injected into the local cloud, and what a stack made of them.

Shared by the functional tests in this directory and by ``tools/chaos.py``
(``tox -e chaos``). Everything acts on the cloud of ``$DEVCLOUD_DIR``
through ``tools/devcloud``, its pid files and its logs, and reads results
back through Heat's API.
"""

import collections
import dataclasses
import os
import re
import signal
import subprocess
import time

from heatclient import exc as heat_exc
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVCLOUD = os.path.join(REPO, 'tools', 'devcloud')
WORKER_WENT_DOWN = 'Worker went down during resource'
NODE_STARTED = re.compile(
    r'Node (\S+) \(resource \d+, create/update\) of stack (\S+) ')
# Any node line, with its kind and the action of its traversal.
NODE_LINE = re.compile(
    r'Node (\S+) \(resource \d+, (create/update|cleanup)\) of stack (\S+) '
    r'(CREATE|UPDATE|DELETE|ROLLBACK) traversal ')

# heat.conf.d settings the fault tests run with: scans every 10 s, a node
# no engine started for 60 s counts as lost, an engine silent for 40 s
# (the default) is dead; orphan check every 20 s, for disagreements older
# than 60 s.
FAST_WATCHDOG = ('[mistral_scheduler]\nwatchdog_interval = 10\n'
                 'lost_node_timeout = 60\ndead_engine_silence = 40\n'
                 'orphan_check_interval = 20\norphan_grace_period = 60\n')
WATCHDOG_INTERVAL = 10
LOST_NODE_TIMEOUT = 60
DEAD_ENGINE_SILENCE = 40
ORPHAN_INTERVAL = 20
ORPHAN_GRACE = 60


def devcloud(*args, timeout=600):
    proc = subprocess.run([DEVCLOUD] + list(args), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError('tools/devcloud %s failed: %s%s'
                           % (' '.join(args), proc.stdout, proc.stderr))


def dc_path(*parts):
    return os.path.join(os.environ['DEVCLOUD_DIR'], *parts)


def overlay(text, name='90-faults.conf', conf_dir='heat.conf.d'):
    """Write (or with text None remove) a file of the cloud's etc/conf_dir.

    ``conf_dir`` is ``heat.conf.d`` (every heat-engine and heat-api) or
    ``heat-engine-N.conf.d`` (that engine only).
    """
    path = dc_path('etc', conf_dir, name)
    if text is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def big_template(size=200, slow=10, slow_secs=40, layers=4, waits=None,
                 version='', slow_layer=0):
    """``size`` TestResources in ``layers`` layers, ``slow`` slow ones.

    Each resource of a layer reads the output of one resource of the layer
    before (get_attr): data flows through Mistral. The slow ones are the
    first ``slow`` of layer ``slow_layer`` (default the first, so that they
    run while the rest of the stack is being created; the last is deleted
    first). ``waits``: their ``action_wait_secs`` (default ``{'create':
    slow_secs}``). ``version`` is appended to the first layer's values: a
    template of another version updates every resource in place.
    """
    width = size // layers
    if waits is None:
        waits = {'create': slow_secs}
    resources = {}
    for i in range(size):
        layer, pos = divmod(i, width)
        props = {'value': 'r%d%s' % (i, version)}
        if layer:
            props['value'] = {'get_attr': ['r%d' % (i - width), 'output']}
        if layer == slow_layer and pos < slow and waits:
            props['action_wait_secs'] = dict(waits)
        resources['r%d' % i] = {'type': 'OS::Heat::TestResource',
                                'properties': props}
    return yaml.safe_dump({'heat_template_version': '2021-04-16',
                           'resources': resources})


def engine_logs():
    """{engine name: log text} of the running cloud."""
    found = {}
    for name in sorted(os.listdir(dc_path('logs'))):
        if re.fullmatch(r'heat-engine-\d+\.log', name):
            with open(dc_path('logs', name), errors='replace') as f:
                found[name[:-4]] = f.read()
    return found


def nodes_started_per_engine(stack_id):
    """{engine name: set of resource names it started for the stack}."""
    result = {}
    for engine, text in engine_logs().items():
        names = {m.group(1) for m in NODE_STARTED.finditer(text)
                 if m.group(2) == stack_id}
        if names:
            result[engine] = names
    return result


def nodes_of_action(stack_id, action):
    """{engine name: set of resource names} of the stack's ``action`` nodes.

    ``action`` is the traversal's (CREATE, UPDATE, DELETE); every node
    line of the engines' logs counts, create/update and cleanup alike.
    """
    result = {}
    for engine, text in engine_logs().items():
        names = {m.group(1) for m in NODE_LINE.finditer(text)
                 if m.group(3) == stack_id and m.group(4) == action}
        if names:
            result[engine] = names
    return result


def redrives(stack_id):
    """How many times the engines drove the stack's traversals again.

    Counted from the engines' logs (``heat.recovery.redrive`` logs each).
    """
    pattern = re.compile(r'Stack %s traversal \S+: Mistral execution \S+ '
                         r'had lost its progress; driven again'
                         % re.escape(stack_id))
    return sum(len(pattern.findall(text))
               for text in engine_logs().values())


def parked_per_engine(stack_id):
    """{engine name: resource ids of the stack parked there, not yet run}.

    Read from the engines' logs: a node that finds no free slot logs
    ``waits``, and ``slot K free`` once it leaves the parking.
    """
    result = {}
    for engine, text in engine_logs().items():
        pattern = r'Node resource (\d+) of stack %s traversal \S+%s'
        waits = set(re.findall(pattern % (re.escape(stack_id), ' waits'),
                               text))
        left = set(re.findall(pattern % (re.escape(stack_id), ': slot'),
                              text))
        if waits - left:
            result[engine] = waits - left
    return result


def kill_engine(name):
    """kill -9 every process of heat-engine ``name`` (parent and workers).

    Returns the pid of the group killed.
    """
    pid = engine_group(name)
    os.killpg(pid, signal.SIGKILL)
    return pid


def engine_group(name):
    """The process group of heat-engine ``name`` (its pid file's pid)."""
    with open(dc_path('pids', '%s.pid' % name)) as f:
        return int(f.read().strip())


def freeze_engine(name):
    """SIGSTOP every process of heat-engine ``name``: alive, but silent.

    It answers nothing, beats no heartbeat and holds its connections, as
    an engine whose host is suspended or starved would. Returns the pid of
    the group stopped; ``thaw_engine`` lets it go on.
    """
    pid = engine_group(name)
    os.killpg(pid, signal.SIGSTOP)
    return pid


def thaw_engine(name):
    """SIGCONT every process of heat-engine ``name`` (harmless if running)."""
    try:
        os.killpg(engine_group(name), signal.SIGCONT)
    except (OSError, ValueError):
        pass    # not running (any more): nothing to let go on


def restart_mistral():
    """kill -9 every Mistral process at once and start them again.

    One mistral-server (API, engine, periodic), or each process of a split
    Mistral (``tools/devcloud start --mistral-split``). Returns once every
    one of them serves again (``tools/devcloud mistral restart all``).
    """
    devcloud('mistral', 'restart', 'all')


def mistral_processes(kind=None):
    """Names of the cloud's running Mistral processes (their pid files).

    ``kind``: only ``mistral-<kind>-N`` (``engine``, ``executor``).
    """
    names = sorted(name[:-4] for name in os.listdir(dc_path('pids'))
                   if re.fullmatch(r'mistral(-[a-z]+(-\d+)?)?\.pid', name))
    if kind:
        pattern = r'mistral-%s-\d+' % kind
        names = [n for n in names if re.fullmatch(pattern, n)]
    return names


def kill_mistral(name):
    """kill -9 Mistral process ``name`` (e.g. ``mistral-engine-1``)."""
    devcloud('mistral', 'kill', name)


def start_mistral(name):
    """Start Mistral process ``name`` again; returns once it serves."""
    devcloud('mistral', 'start', name)


def restart_engines():
    """kill -9 every heat-engine at once and start them again.

    Returns once every one is registered in Heat again.
    """
    devcloud('engine', 'restart', 'all')


def private_db_port():
    """The port of the cloud's private MariaDB.

    DEVCLOUD_PRIVATE_DB_PORT if set, else the Heat API port + 21000
    (29004 for the default cloud), as ``private_rabbit_port`` does.
    """
    return os.environ.get('DEVCLOUD_PRIVATE_DB_PORT') or str(
        int(os.environ.get('DEVCLOUD_HEAT_PORT', '8004')) + 21000)


def restart_db(down_secs):
    """Stop the cloud's private MariaDB, wait ``down_secs``, start it.

    MariaDB's own shutdown (SIGTERM); every connection of Heat and
    Mistral breaks. Returns the seconds it did not answer.
    """
    began = time.time()
    devcloud('db', 'stop')
    time.sleep(down_secs)
    devcloud('db', 'start')
    return time.time() - began


def private_rabbit_port():
    """The port of the cloud's private RabbitMQ.

    DEVCLOUD_PRIVATE_RABBIT_PORT if set, else the Heat API port + 20000
    (28004 for the default cloud): clouds on one machine differ in their
    Heat port, so their private brokers (port, +1, +2) do not collide.
    """
    return os.environ.get('DEVCLOUD_PRIVATE_RABBIT_PORT') or str(
        int(os.environ.get('DEVCLOUD_HEAT_PORT', '8004')) + 20000)


def restart_rabbit(down_secs):
    """Stop the cloud's private RabbitMQ, wait ``down_secs``, start it.

    The stop is RabbitMQ's own (SIGTERM: connections closed, the node shut
    down, KILL after 10 s); its queues are not durable, so every message
    not yet consumed is gone. Returns the seconds the broker did not
    answer (stop, wait and start; a start takes 20-50 s here).
    """
    began = time.time()
    devcloud('rabbit', 'stop')
    time.sleep(down_secs)
    devcloud('rabbit', 'start')
    return time.time() - began


@dataclasses.dataclass
class Result:
    fault: str
    size: int
    outcome: str
    seconds: float
    created_twice: int
    replaced: int
    note: str = ''


def creation_counts(events):
    """(created twice, replaced) from a stack's events.

    ``events`` are (resource name, status, reason). A resource whose create
    a dead engine interrupted is marked FAILED "Worker went down" and
    replaced, which starts a second create of that name: counted as
    replaced, not as created twice.
    """
    twice, replaced = action_counts(events, 'CREATE')
    return len(twice), replaced


def action_counts(events, action):
    """(names whose ``action`` ran again, replaced) from a stack's events.

    As ``creation_counts``, for any resource action (CREATE, UPDATE,
    DELETE): a name with more than one ``<action>_IN_PROGRESS`` event, not
    counting one more per "Worker went down" failure of that action.
    """
    starts = collections.Counter()
    went_down = collections.Counter()
    for name, status, reason in events:
        if status == '%s_IN_PROGRESS' % action:
            starts[name] += 1
        elif (status == '%s_FAILED' % action and
              WORKER_WENT_DOWN in (reason or '')):
            went_down[name] += 1
    again = sorted(name for name, n in starts.items()
                   if n - 1 - went_down[name] > 0)
    return again, sum(went_down.values())


def replaced_resources(events):
    """Names of the resources a dead engine's interrupted create replaced."""
    return {name for name, status, reason in events
            if status == 'CREATE_FAILED'
            and WORKER_WENT_DOWN in (reason or '')}


def stack_events(heat, stack_id):
    """(resource name, status, reason) of the stack's resource events."""
    stack_name = heat.stacks.get(stack_id, resolve_outputs=False).stack_name
    events = heat.events.list(stack_id, sort_dir='asc',
                              sort_keys='created_at', limit=100000)
    return [(e.resource_name, e.resource_status,
             getattr(e, 'resource_status_reason', ''))
            for e in events if e.resource_name != stack_name]


def wait_for(heat, stack_id, timeout, api_errors_allowed=0):
    """Poll until the stack is no longer IN_PROGRESS or timeout passes.

    ``api_errors_allowed``: how many HTTP 500 answers of heat-api to poll
    through, as a user would, after a broker restart (heat-api answers 500
    for a call whose reply the restarted broker lost); one more is raised.
    """
    deadline = time.time() + timeout
    while True:
        try:
            stack = heat.stacks.get(stack_id, resolve_outputs=False)
        except heat_exc.HTTPInternalServerError:
            if api_errors_allowed <= 0:
                raise
            api_errors_allowed -= 1
            time.sleep(2)
            continue
        if not stack.stack_status.endswith('IN_PROGRESS'):
            return stack
        if time.time() > deadline:
            return stack
        time.sleep(2)


STALLED = 'is RUNNING but has run no resource'


def settle_or_recover(heat, stack_id, timeout):
    """Wait for the stack; recover a stalled one as a user would.

    Returns (first final stack, final stack after ``openstack stack update
    --existing`` or None if none was needed).
    """
    first = wait_for(heat, stack_id, timeout)
    if first.stack_status != 'CREATE_FAILED' or STALLED not in (
            first.stack_status_reason or ''):
        return first, None
    subprocess.run(['openstack', 'stack', 'update', '--existing', '--wait',
                    stack_id], capture_output=True, text=True, timeout=900)
    return first, heat.stacks.get(stack_id, resolve_outputs=False)


def assert_completed_or_recovered(test, stack_id, first, recovered):
    """What a restart of Mistral or RabbitMQ may end with, and no more.

    ``first``/``recovered`` as ``settle_or_recover`` returns them: the
    create completed, or it failed as stalled and ``update --existing``
    completed the stack. Either way every resource is complete, none was
    created twice and none replaced (no engine died).
    """
    if recovered is None:
        test.assertEqual('CREATE_COMPLETE', first.stack_status,
                         first.stack_status_reason)
    else:
        test.assertIn(STALLED, first.stack_status_reason)
        test.assertEqual('UPDATE_COMPLETE', recovered.stack_status,
                         recovered.stack_status_reason)
    for name, rsrc in test.resources(stack_id).items():
        test.assertIn(rsrc.resource_status,
                      ('CREATE_COMPLETE', 'UPDATE_COMPLETE'), name)
    test.assertEqual((0, 0), creation_counts(stack_events(test.heat,
                                                          stack_id)))


def assert_complete_once(test, stack_id):
    """CREATE_COMPLETE, each resource created once, no execution left.

    Exactly one of the stack's executions ended SUCCESS; each other one
    was driven again (CANCELLED), as the engine that did it logged.
    Returns the number of re-drives.
    """
    for name, rsrc in test.resources(stack_id).items():
        test.assertEqual('CREATE_COMPLETE', rsrc.resource_status, name)
    # (created twice, replaced): no resource action ran again.
    test.assertEqual((0, 0), creation_counts(
        stack_events(test.heat, stack_id)))

    def none_running():
        executions = test.executions(stack_id)
        return executions if not any(
            e.state in ('RUNNING', 'PAUSED') for e in executions) \
            else None
    executions = wait_until(none_running, 60, 1)
    test.assertIsNotNone(executions, 'an execution stayed RUNNING')
    states = [e.state for e in executions]
    test.assertEqual(1, states.count('SUCCESS'), states)
    test.assertEqual(len(executions) - 1, states.count('CANCELLED'),
                     states)
    driven_again = redrives(stack_id)
    test.assertEqual(len(executions) - 1, driven_again, states)
    return driven_again


def handed_per_executor(stack_id):
    """{running Mistral executor: nodes of the stack it handed to Heat}."""
    pattern = re.compile(r'Handed node .* of Heat stack %s '
                         % re.escape(stack_id))
    counts = {}
    for name in mistral_processes('executor'):
        with open(dc_path('logs', name + '.log'), errors='replace') as f:
            counts[name] = len(pattern.findall(f.read()))
    return counts


def busiest_executor(stack_id):
    """The running executor whose log hands the most of the stack's nodes."""
    counts = handed_per_executor(stack_id)
    return max(sorted(counts), key=lambda n: counts[n])


def wait_until(predicate, timeout, step=1.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None
