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


"""The fault suite (``tox -e chaos``): one stack per fault, then a table.

Restarts the local cloud (``$DEVCLOUD_DIR``) with three heat-engines, the
fast watchdog of the functional tests and a RabbitMQ of its own
(``DEVCLOUD_PRIVATE_RABBIT_PORT``, default the Heat port + 20000: the
machine's broker, shared by other clouds, is never stopped), creates a
stack of SIZE resources per fault, injects the fault mid-create and waits
(at most ``--timeout`` seconds per fault) for the stack to settle. Prints,
per fault: stack size, outcome, seconds from the fault to the end,
resources created twice (must be 0) and resources replaced because their
engine died. Puts the default cloud (one engine, the machine's broker)
back at the end. Exit status 1 if a
stack did not reach CREATE_COMPLETE or a resource was created twice.

Faults:

none            no fault (the baseline)
kill-engine     kill -9 the heat-engine (parent and workers) that runs the
                most slow resources, once they all started
restart-mistral kill -9 Mistral (API, engine, periodic) a quarter into the
                create and start it again. Completes; when Mistral lost a
                task it had not started, the orphan check drives the
                traversal again (the note counts the re-drives). Only
                after max_traversal_redrives does it fail as "stalled",
                and is then recovered with ``openstack stack update
                --existing``: the outcome column shows both states
rabbitmq        stop the cloud's private RabbitMQ once the slow resources
                all started, start it again 10 s later (it answers again
                20-50 s after the stop). Casts still queued are lost
                (oslo.messaging's queues are not durable): Heat's node
                casts come back through the watchdog (lost_node_timeout);
                a lost Mistral start_task cast stalls the execution, which
                the orphan check drives again (as for restart-mistral)
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from tests.functional import base  # noqa: E402
from tests.functional_restart import faults  # noqa: E402

FAULTS = ('none', 'kill-engine', 'restart-mistral', 'rabbitmq')
RABBIT_DOWN_SECS = 10


def run_fault(heat, fault, size, slow, slow_secs, timeout):
    fd, path = tempfile.mkstemp(suffix='.yaml')
    with os.fdopen(fd, 'w') as f:
        f.write(faults.big_template(size, slow, slow_secs))
    try:
        created = base.openstack('stack', 'create', '-t', path,
                                 'chaos-%s-%d' % (fault, time.time()))
    finally:
        os.unlink(path)
    stack_id = created['id']
    started = time.time()
    slow_names = {'r%d' % i for i in range(slow)}
    note = ''

    def started_nodes(names, at_least):
        def enough():
            per_engine = faults.nodes_started_per_engine(stack_id)
            count = sum(len(n & names) for n in per_engine.values())
            return per_engine if count >= at_least else None
        return faults.wait_until(enough, 300, 0.5) or {}

    if fault == 'kill-engine':
        per_engine = started_nodes(slow_names, slow)
        victim = max(per_engine, key=lambda e: len(per_engine[e] & slow_names))
        faults.kill_engine(victim)
        held = len(per_engine[victim] & slow_names)
        note = '%s held %d slow' % (victim, held)
    elif fault == 'restart-mistral':
        started_nodes({'r%d' % i for i in range(size)}, size // 4)
        faults.restart_mistral()
    elif fault == 'rabbitmq':
        started_nodes(slow_names, slow)
        note = 'broker down %.0f s' % faults.restart_rabbit(RABBIT_DOWN_SECS)
    fault_at = time.time()
    first, recovered = faults.settle_or_recover(heat, stack_id, timeout)
    took = time.time() - fault_at
    stack = first
    if recovered is not None:
        stack = recovered
        note = ('%s; stalled in Mistral, failed; update --existing: %s'
                % (note, recovered.stack_status)).lstrip('; ')
    twice, replaced = faults.creation_counts(
        faults.stack_events(heat, stack_id))
    spread = len(faults.nodes_started_per_engine(stack_id))
    note = ('%s; %d re-drives; %d engines ran nodes; %.0f s in all'
            % (note, faults.redrives(stack_id), spread,
               time.time() - started)).lstrip('; ')
    base.openstack('stack', 'delete', '--yes', stack_id, parse=False,
                   check=False)
    outcome = stack.stack_status
    if recovered is not None:
        outcome = '%s -> %s' % (first.stack_status, recovered.stack_status)
    return faults.Result(fault, size, outcome, took, twice, replaced, note)


def print_table(results, out=sys.stdout):
    header = ('fault', 'size', 'outcome', 'seconds', 'created twice',
              'replaced', 'note')
    rows = [header] + [(r.fault, r.size, r.outcome, '%.0f' % r.seconds,
                        r.created_twice, r.replaced, r.note)
                       for r in results]
    widths = [max(len(str(row[i])) for row in rows)
              for i in range(len(header))]
    for row in rows:
        out.write('  '.join(str(v).ljust(w) for v, w in zip(row, widths))
                  .rstrip() + '\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--faults', default=','.join(FAULTS))
    parser.add_argument('--size', type=int, default=200)
    parser.add_argument('--slow', type=int, default=10)
    parser.add_argument('--slow-secs', type=int, default=40)
    parser.add_argument('--timeout', type=int, default=420,
                        help='seconds to wait for each stack after its '
                             'fault')
    parser.add_argument('--keep-cloud', action='store_true',
                        help='do not restart the cloud before and after')
    args = parser.parse_args(argv)
    saved_port = os.environ.get('DEVCLOUD_PRIVATE_RABBIT_PORT')
    os.environ['DEVCLOUD_PRIVATE_RABBIT_PORT'] = faults.private_rabbit_port()
    if not args.keep_cloud:
        faults.overlay(faults.FAST_WATCHDOG)
        faults.devcloud('restart', '--engines', '3')
    results = []
    try:
        heat = base.heat()
        for fault in args.faults.split(','):
            faults.devcloud('start', '--engines', '3')
            results.append(run_fault(heat, fault, args.size, args.slow,
                                     args.slow_secs, args.timeout))
            print_table(results[-1:], sys.stderr)
    finally:
        if saved_port is None:
            del os.environ['DEVCLOUD_PRIVATE_RABBIT_PORT']
        else:
            os.environ['DEVCLOUD_PRIVATE_RABBIT_PORT'] = saved_port
        if not args.keep_cloud:
            faults.overlay(None)
            # Stops the private broker too: devcloud stops what it started.
            faults.devcloud('restart', '--engines', '1')
    print_table(results)
    bad = [r for r in results
           if not r.outcome.endswith(('CREATE_COMPLETE', 'UPDATE_COMPLETE'))
           or r.created_twice]
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
