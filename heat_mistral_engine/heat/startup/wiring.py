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

"""Put the scheduler's pieces into Heat (inside heat-engine).

The one module that knows every package: it hands the traversal, node and
recovery functions to the patches of Heat's methods (a
``convergence.Scheduler``), and starts a worker's node server, watchdog,
orphan check and failure watch, so that no package below needs to import
one above it (see doc/source/architecture.rst, "Layout").
"""

import gc

from oslo_config import cfg

from heat_mistral_engine import config
from heat_mistral_engine.heat.clients import heartbeat
from heat_mistral_engine.heat.node import admission
from heat_mistral_engine.heat.node import log
from heat_mistral_engine.heat.node import runner
from heat_mistral_engine.heat.node import server
from heat_mistral_engine.heat.operator_hooks import hook_validation
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import db_outage
from heat_mistral_engine.heat.patches import held_locks
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.patches import nested_starter
from heat_mistral_engine.heat.patches import remote_stack_link
from heat_mistral_engine.heat.patches import shared_stack_json
from heat_mistral_engine.heat.recovery import failure_watch
from heat_mistral_engine.heat.recovery import orphans
from heat_mistral_engine.heat.recovery import redrive
from heat_mistral_engine.heat.recovery import watchdog
from heat_mistral_engine.heat.traversal import concurrency_cap
from heat_mistral_engine.heat.traversal import executions
from heat_mistral_engine.heat.traversal import starter


def install(conf=cfg.CONF):
    """Patch Heat so that Mistral orders its traversals. Idempotent.

    The optional patches (``lean_defn``, ``shared_stack_json``,
    ``remote_stack_link``, ``nested_starter``, ``held_locks``,
    ``db_outage``) leave Heat alone with a warning when Heat is not what
    they were written for, or heat.conf turns them off.

    :raises heat_release.IncompatibleHeat: Heat's traversal methods are
        not the ones ``convergence`` was written for (nothing is patched).
    """
    convergence.install(scheduler())
    lean_defn.install(conf)
    shared_stack_json.install(conf)
    remote_stack_link.install()
    nested_starter.install()
    held_locks.install()
    db_outage.install(conf)


def scheduler():
    """The ``convergence.Scheduler`` the patched Heat methods call."""
    return convergence.Scheduler(
        handles=starter.handles,
        start=starter.start,
        before_validate=lambda stack: concurrency_cap.check_tags(stack.tags),
        # After Heat's checks: the resources (and their types) are known to
        # be valid before Mistral is asked about operator hooks.
        after_validate=hook_validation.check_stack,
        worker_started=start_worker,
        stacks_running=executions.stacks_running,
        traversals_stopped=executions.traversals_stopped)


def start_worker(worker, conf=cfg.CONF):
    """Start what an engine worker runs beside Heat's ``WorkerService``.

    The node server (node requests and hook reports from Mistral, through
    the worker's admission), then the watchdog and the orphan check, then
    ``freeze_startup_objects``. Returns the node server.
    """
    config.register_opts(conf)
    node_runner = runner.NodeRunner(worker.engine_id,
                                    worker.thread_group_mgr)
    nodes = admission.Admission(node_runner)
    node_server = server.start_node_server(worker, nodes, conf)
    # Nodes of engines that die are taken over by the live ones, through
    # the same admission (concurrency cap) as the nodes Mistral sends.
    worker._hme_periodic = start_recovery(
        node_runner, conf, submit=lambda request: nodes.submit(
            request, lambda outcome: log.finished(request, outcome, 0)))
    freeze_startup_objects()
    return node_server


def start_recovery(node_runner, conf=cfg.CONF, submit=None):
    """Start the watchdog, orphan check and failure watch of a worker.

    ``node_runner`` is the worker's ``runner.NodeRunner``; ``submit(request)``
    runs a taken-over node (see ``watchdog.Watchdog``). Returns the started
    ``watchdog.Periodic`` of the first two; its ``failures`` is the one of
    the failure watch (``failure_watch``), and its ``heartbeat`` the one of
    the worker's heartbeat in the database (``clients.heartbeat``), each in
    a thread of its own.
    """
    group = conf[config.GROUP]
    dog = watchdog.Watchdog(node_runner, conf, submit=submit)

    def check_orphans():
        heat = orphans.HeatView()
        redriver = redrive.Redriver(
            heat, node_runner.mistral, node_runner.engine_id,
            group.max_traversal_redrives, group.orphan_grace_period)
        checker = orphans.Checker(heat, node_runner.mistral,
                                  group.orphan_grace_period,
                                  redriver=redriver)
        checker.check(repair=True)

    periodic = watchdog.Periodic([(group.watchdog_interval, dog.scan),
                                  (group.orphan_check_interval,
                                   check_orphans)])
    periodic.start()
    # A thread of its own: a long watchdog scan or orphan check must not
    # hold back the few seconds in which a failure is to be seen.
    watches = []

    def poll_failures():
        # Made at the first poll, as the orphan check's service is: a
        # misconfigured Mistral client raises here, in the poll (which
        # logs it), never in the worker's start.
        if not watches:
            watches.append(failure_watch.FailureWatch(
                failure_watch.FailureView(node_runner.engine_id),
                node_runner.mistral))
        watches[0].poll()

    periodic.failures = watchdog.Periodic([(group.failure_poll_interval,
                                            poll_failures)])
    periodic.failures.start()
    # A thread of its own too: a beat late by a long scan would let other
    # engines take this one for dead while it is cut off from the broker.
    beater = heartbeat.Beater(node_runner.engine_id)
    periodic.heartbeat = watchdog.Periodic([(group.engine_heartbeat_interval,
                                             beater.beat)])
    periodic.heartbeat.start()
    return periodic


def freeze_startup_objects():
    """Keep the garbage collector from rescanning start-up objects.

    Each node parses the stack's template, allocating enough objects to
    trigger full collections that walk the whole heap of the engine worker,
    most of it modules and objects that live as long as the process
    (doc/source/benchmarks.rst, "Figures behind the code"). Called once
    per engine worker after start-up.
    """
    gc.collect()
    gc.freeze()
