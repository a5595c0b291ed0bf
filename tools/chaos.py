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


"""The fault suite (``tox -e chaos``): one stack per fault and phase, a table.

Restarts the local cloud (``$DEVCLOUD_DIR``) with three heat-engines, a
split Mistral (``tools/devcloud start --mistral-split``: an API, two
engines, two remote executors, a notifier and the periodic server, each
its own process), the fast watchdog of the functional tests, and a
RabbitMQ and a MariaDB of its own (``DEVCLOUD_PRIVATE_RABBIT_PORT``,
default the Heat port + 20000; ``DEVCLOUD_PRIVATE_DB_PORT``, default the
Heat port + 21000: the machine's broker and database are shared by other
clouds and never stopped). For each fault and phase (``--faults``,
``--phases``) it creates a stack of SIZE resources, drives it into the
phase and injects the fault in the middle of it:

create  the fault while the stack is being created (its ``slow``
        resources, in the first layer, take ``slow_secs`` to create);
update  the stack is created first (no fault), then updated with a
        template that changes every resource in place; the fault while
        the update runs (the slow resources take ``slow_secs`` to update);
delete  the stack is created first, then deleted; the fault while the
        delete runs (the slow resources, in the last layer, are deleted
        first and take ``slow_secs``).

It then waits (at most ``--timeout`` seconds) for the stack to end, with
no user action, and prints a row per fault and phase: stack size, outcome
(the status the stack ended in), seconds from recovery (the moment the
failed component answers again; for a heat-engine killed and not
restarted, the kill) to the end, the resources whose action of the phase
ran again (must be 0), the resources replaced because their engine died,
the re-drives of the traversal and the executions of the stack left
RUNNING (must be 0). Puts the default cloud (one engine, one Mistral
process, the machine's broker and database) back at the end. Exit status
1 if a stack did not end as it would have without the fault, a resource
action ran again or an execution was left RUNNING.

Faults:

none                  no fault (the baseline)
kill-engine           kill -9 the heat-engine (parent and workers) that
                      runs the most slow resources, once they all started;
                      not restarted (the two others take its nodes over)
kill-all-engines      kill -9 every heat-engine once the slow resources
                      all started, then start them again
kill-mistral-api      kill -9 mistral-api a quarter into the phase, then
                      start it again (heat-engines retry their reports)
kill-mistral-engine   kill -9 mistral-engine-1 a quarter into the phase,
                      then start it again (mistral-engine-2 goes on)
kill-mistral-executor kill -9 the executor that handed the stack's nodes
                      most a quarter into the phase, then start it again
restart-mistral       kill -9 every Mistral process a quarter into the
                      phase and start them again. When Mistral lost a
                      task it had not started, the orphan check drives the
                      traversal again (the re-drives column)
rabbitmq              stop the cloud's private RabbitMQ once the slow
                      resources all started, start it again 10 s later.
                      Casts still queued are lost (oslo.messaging's queues
                      are not durable): Heat's node casts come back through
                      the watchdog (lost_node_timeout); a lost Mistral
                      start_task cast stalls the execution, which the
                      orphan check drives again
mariadb               stop the cloud's private MariaDB (its own clean
                      shutdown) once the slow resources all started, start
                      it again 10 s later
"""

import argparse
import dataclasses
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional import base  # noqa: E402
from tests.functional_restart import faults  # noqa: E402

FAULTS = ('none', 'kill-engine', 'kill-all-engines', 'kill-mistral-api',
          'kill-mistral-engine', 'kill-mistral-executor', 'restart-mistral',
          'rabbitmq', 'mariadb')
PHASES = ('create', 'update', 'delete')
# Faults injected once the phase's slow resources all started; the others
# a quarter into the phase.
AT_SLOW = ('none', 'kill-engine', 'kill-all-engines', 'rabbitmq', 'mariadb')
DOWN_SECS = 10
LAYERS = 4
ENGINES = 3
EXPECTED = {'create': 'CREATE_COMPLETE', 'update': 'UPDATE_COMPLETE',
            'delete': 'DELETE_COMPLETE'}


@dataclasses.dataclass
class Row:
    fault: str
    phase: str
    size: int
    outcome: str
    seconds: float
    ran_again: int
    replaced: int
    redrives: int
    running: int
    note: str = ''

    def bad(self):
        return (self.outcome != EXPECTED[self.phase] or self.ran_again or
                self.running)


def write_template(size, slow, slow_secs, phase, version=''):
    fd, path = tempfile.mkstemp(suffix='.yaml')
    with os.fdopen(fd, 'w') as f:
        f.write(faults.big_template(
            size, slow, slow_secs, layers=LAYERS,
            waits={phase: slow_secs}, version=version,
            slow_layer=LAYERS - 1 if phase == 'delete' else 0))
    return path


def slow_names(size, slow, phase):
    first = (size // LAYERS) * (LAYERS - 1) if phase == 'delete' else 0
    return {'r%d' % i for i in range(first, first + slow)}


def stack_executions(mistral, stack_id):
    return mistral.executions.list(workflow_name='heat_stack_%s' % stack_id,
                                   limit=-1)


def left_running(mistral, stack_id, timeout=60):
    """Executions of the stack still RUNNING or PAUSED after ``timeout``."""
    def none():
        running = [e for e in stack_executions(mistral, stack_id)
                   if e.state in ('RUNNING', 'PAUSED')]
        return not running
    faults.wait_until(none, timeout, 2)
    return sum(1 for e in stack_executions(mistral, stack_id)
               if e.state in ('RUNNING', 'PAUSED'))


def inject(fault, stack_id, action, size, slow_set):
    """Inject ``fault`` mid-``action``.

    Returns (time of the fault, time the component answered again, note).
    """
    def started(names, at_least):
        def enough():
            per_engine = faults.nodes_of_action(stack_id, action)
            count = sum(len(n & names) for n in per_engine.values())
            return per_engine if count >= at_least else None
        return faults.wait_until(enough, 300, 0.5) or {}

    if fault in AT_SLOW:
        per_engine = started(slow_set, len(slow_set))
    else:
        per_engine = started({'r%d' % i for i in range(size)}, size // 4)
    if not per_engine:
        raise RuntimeError('the %s of stack %s did not get far enough for '
                           'the fault' % (action.lower(), stack_id))
    note = ''
    fault_at = time.time()
    if fault == 'kill-engine':
        victim = max(sorted(per_engine),
                     key=lambda e: len(per_engine[e] & slow_set))
        faults.kill_engine(victim)
        held = len(per_engine[victim] & slow_set)
        note = '%s held %d slow' % (victim, held)
    elif fault == 'kill-all-engines':
        began = time.time()
        faults.restart_engines()
        note = 'engines back after %.0f s' % (time.time() - began)
    elif fault.startswith('kill-mistral-'):
        name = {'kill-mistral-api': 'mistral-api',
                'kill-mistral-engine': 'mistral-engine-1'}.get(fault)
        name = name or faults.busiest_executor(stack_id)
        began = time.time()
        faults.kill_mistral(name)
        faults.start_mistral(name)
        note = '%s back after %.0f s' % (name, time.time() - began)
    elif fault == 'restart-mistral':
        began = time.time()
        faults.restart_mistral()
        note = 'Mistral back after %.0f s' % (time.time() - began)
    elif fault == 'rabbitmq':
        note = 'broker down %.0f s' % faults.restart_rabbit(DOWN_SECS)
    elif fault == 'mariadb':
        note = 'database down %.0f s' % faults.restart_db(DOWN_SECS)
    return fault_at, time.time(), note


def run_row(heat, mistral, fault, phase, size, slow, slow_secs, timeout):
    """Create a stack, drive it into ``phase``, inject ``fault``: a Row."""
    action = phase.upper()
    path = write_template(size, slow, slow_secs, phase)
    try:
        created = base.openstack('stack', 'create', '-t', path,
                                 'chaos-%s-%s-%d' % (fault, phase,
                                                     time.time()))
    finally:
        os.unlink(path)
    stack_id = created['id']
    started = time.time()
    try:
        if phase != 'create':
            stack = faults.wait_for(heat, stack_id, timeout)
            if stack.stack_status != 'CREATE_COMPLETE':
                return Row(fault, phase, size, 'not run: create ended %s'
                           % stack.stack_status, 0, 0, 0, 0, 0)
            if phase == 'update':
                path = write_template(size, slow, slow_secs, phase, 'v2')
                try:
                    base.openstack('stack', 'update', '-t', path, stack_id)
                finally:
                    os.unlink(path)
            else:
                base.openstack('stack', 'delete', '--yes', stack_id,
                               parse=False)
        fault_at, recovered_at, note = inject(
            fault, stack_id, action, size, slow_names(size, slow, phase))
        stack = faults.wait_for(heat, stack_id, timeout,
                                api_errors_allowed=30)
        took = time.time() - recovered_at
        again, replaced = faults.action_counts(
            faults.stack_events(heat, stack_id), action)
        running = left_running(mistral, stack_id)
        note = ('%s; %.0f s from the fault; %.0f s in all%s' % (
            note, time.time() - fault_at, time.time() - started,
            '; ran again: ' + ' '.join(again) if again else '')).lstrip('; ')
        if stack.stack_status != EXPECTED[phase]:
            note += '; reason: %s' % (stack.stack_status_reason or '')[:200]
        return Row(fault, phase, size, stack.stack_status, took, len(again),
                   replaced, faults.redrives(stack_id), running, note)
    finally:
        if phase != 'delete':
            base.openstack('stack', 'delete', '--yes', '--wait', stack_id,
                           parse=False, check=False, timeout=timeout)


HEADER = ('fault', 'phase', 'size', 'outcome', 'seconds', 'ran again',
          'replaced', 're-drives', 'left running', 'note')


def row_values(r):
    return (r.fault, r.phase, r.size, r.outcome, '%.0f' % r.seconds,
            r.ran_again, r.replaced, r.redrives, r.running, r.note)


def print_table(results, out=sys.stdout, rst=False):
    rows = [HEADER] + [row_values(r) for r in results]
    widths = [max(len(str(row[i])) for row in rows)
              for i in range(len(HEADER))]
    rule = '  '.join('=' * w for w in widths)
    if rst:
        out.write(rule + '\n')
    for n, row in enumerate(rows):
        out.write('  '.join(str(v).ljust(w) for v, w in zip(row, widths))
                  .rstrip() + '\n')
        if rst and n == 0:
            out.write(rule + '\n')
    if rst:
        out.write(rule + '\n')


def choices(text, allowed, what):
    picked = [v for v in text.split(',') if v]
    unknown = [v for v in picked if v not in allowed]
    if unknown:
        raise SystemExit('unknown %s: %s (choose from %s)'
                         % (what, ', '.join(unknown), ', '.join(allowed)))
    return picked


def cloud_env():
    """The DEVCLOUD_* settings of the chaos cloud, and the ones to restore."""
    wanted = {'DEVCLOUD_PRIVATE_RABBIT_PORT': faults.private_rabbit_port(),
              'DEVCLOUD_PRIVATE_DB_PORT': faults.private_db_port(),
              'DEVCLOUD_MISTRAL_SPLIT': '1'}
    return wanted, {k: os.environ.get(k) for k in wanted}


def set_env(values):
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--faults', default=','.join(FAULTS),
                        help='comma-separated, of: %s' % ', '.join(FAULTS))
    parser.add_argument('--phases', default=','.join(PHASES),
                        help='comma-separated, of: %s' % ', '.join(PHASES))
    parser.add_argument('--size', type=int, default=200)
    parser.add_argument('--slow', type=int, default=10)
    parser.add_argument('--slow-secs', type=int, default=40)
    parser.add_argument('--timeout', type=int, default=600,
                        help='seconds to wait for each stack after its '
                             'fault (and for the create before an update '
                             'or a delete)')
    parser.add_argument('--keep-cloud', action='store_true',
                        help='do not restart the cloud before and after')
    parser.add_argument('--rst', action='store_true',
                        help='print the table as reStructuredText')
    args = parser.parse_args(argv)
    picked_faults = choices(args.faults, FAULTS, 'fault')
    phases = choices(args.phases, PHASES, 'phase')
    wanted, saved = cloud_env()
    set_env(wanted)
    if not args.keep_cloud:
        faults.overlay(faults.FAST_WATCHDOG)
        faults.devcloud('restart', '--engines', str(ENGINES))
    results = []
    try:
        heat = base.heat()
        mistral = base.mistral()
        for phase in phases:
            for fault in picked_faults:
                faults.devcloud('start', '--engines', str(ENGINES))
                results.append(run_row(heat, mistral, fault, phase,
                                       args.size, args.slow,
                                       args.slow_secs, args.timeout))
                print_table(results[-1:], sys.stderr)
    finally:
        if not args.keep_cloud:
            faults.overlay(None)
            # Stops the private broker and database too: devcloud stops
            # what it started; a start without them uses the machine's.
            faults.devcloud('stop')
        set_env(saved)
        if not args.keep_cloud:
            faults.devcloud('start', '--engines', '1')
    print_table(results, rst=args.rst)
    return 1 if any(r.bad() for r in results) else 0


if __name__ == '__main__':
    sys.exit(main())
