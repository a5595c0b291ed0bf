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

"""Wrap Heat's convergence traversal and worker methods.

Four methods are wrapped (``install``); the traversal starter's and
``stop_traversal``'s signatures are checked against the installed Heat
first. What each wrapper calls is handed in as a ``Scheduler``:

* ``Stack._converge_create_or_update``: the traversal starter. For the
  actions Mistral drives (``Scheduler.handles``), ``Scheduler.start`` runs
  instead of Heat's leaf casts; for everything else Heat's own method runs
  unchanged.
* ``WorkerService.start``: after Heat's worker starts (in each forked engine
  worker), ``Scheduler.worker_started`` (the node server starts).
* ``Stack.validate`` (public): ``Scheduler.before_validate`` first (a bad
  ``mistral_max_concurrent_resources`` stack tag fails at once with a
  message naming the tag), ``Scheduler.after_validate`` after Heat's
  checks (operator hooks that cannot run are refused).
* ``WorkerService.stop_traversal``: the one place where Heat stops a
  convergence traversal without starting another (``openstack stack cancel
  --no-rollback``, and delete of a stack still IN_PROGRESS). Heat's own
  method runs first; then the Mistral executions of the traversals it
  stopped, the stack's and its nested stacks', are cancelled
  (``Scheduler.stacks_running``, ``Scheduler.traversals_stopped``).

``prepare_traversal`` repeats the preamble of Heat's traversal starter with
Heat's own private helpers, so that the stored ``current_deps`` and resource
rows are exactly what native Heat would store.
"""

import dataclasses
import functools
import typing

from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

_EXPECTED_PARAMS = ('self', 'pre_converge', 'abandon')
_EXPECTED_STOP_PARAMS = ('self', 'stack')


def check_heat_version():
    """Raise ``IncompatibleHeat`` unless Heat is a release this code knows.

    Checks the release and the parameters of the traversal starter (its
    leading ones: Heat may add keyword arguments, which go to Heat's own
    method) and of ``stop_traversal``.
    """
    heat_release.check('heat-mistral-engine supports', (
        ('Stack._converge_create_or_update', _original_converge(),
         _EXPECTED_PARAMS, True),
        ('WorkerService.stop_traversal', _original_stop_traversal(),
         _EXPECTED_STOP_PARAMS)))


def _original_converge():
    method = heat_stack.Stack._converge_create_or_update
    return getattr(method, '_hme_original', method).__wrapped__


def _original_stop_traversal():
    method = heat_worker.WorkerService.stop_traversal
    return getattr(method, '_hme_original', method)


def prepare_traversal(stack):
    """Heat's traversal preamble: store resource rows and the graph.

    Returns True if this traversal is still current (the stack was stored),
    False if a concurrent traversal won, as Heat's own starter decides.
    """
    current_resources = stack._update_or_store_resources()
    stack._compute_convg_dependencies(stack.ext_rsrcs_db, stack.dependencies,
                                      current_resources)
    stack.current_deps = {
        'edges': [[rqr.to_tuple(), rqd.to_tuple() if rqd else None]
                  for rqr, rqd in
                  stack.convergence_dependencies.graph().edges()]}
    if stack.store() is None:
        LOG.warning('Failed to store stack %(name)s with traversal ID '
                    '%(trvsl_id)s, aborting stack %(action)s',
                    {'name': stack.name, 'trvsl_id': stack.current_traversal,
                     'action': stack.action})
        return False
    return True


def resource_names(stack):
    """Map resource id -> name for every resource row in the starter.

    Valid after ``prepare_traversal``.
    """
    names = {rid: r.name for rid, r in (stack.ext_rsrcs_db or {}).items()}
    for rsrc in stack.resources.values():
        if rsrc.id is not None:
            names.setdefault(rsrc.id, rsrc.name)
    return names


@dataclasses.dataclass(frozen=True)
class Scheduler:
    """What the wrapped Heat methods call instead of, or around, Heat's.

    Built by ``startup.wiring``: this package sits below the traversal,
    node and recovery packages, so it is handed their functions rather
    than importing them.

    :ivar handles: ``f(stack, abandon=False, **kwargs) -> bool``: whether
        Mistral orders this traversal (else Heat's own starter runs).
    :ivar start: ``f(stack, pre_converge=None)``: start the traversal, in
        place of Heat's leaf casts; raising fails the stack, as Heat's
        ``reset_state_on_error`` does for its own starter.
    :ivar before_validate: ``f(stack)``, before Heat's ``Stack.validate``;
        raises to refuse the stack.
    :ivar after_validate: ``f(stack)``, after Heat's checks passed.
    :ivar worker_started: ``f(worker)``, after Heat's ``WorkerService``
        started, in each engine worker.
    :ivar stacks_running: ``f(stack) -> [stack id]``, before Heat's
        ``stop_traversal``.
    :ivar traversals_stopped: ``f(stack, stack_ids)``, after it, with what
        ``stacks_running`` returned.
    """

    handles: typing.Callable
    start: typing.Callable
    before_validate: typing.Callable
    after_validate: typing.Callable
    worker_started: typing.Callable
    stacks_running: typing.Callable
    traversals_stopped: typing.Callable


def install(scheduler):
    """Wrap Heat's traversal starter, validate, worker start and stop.

    Each wrapper calls ``scheduler`` (a ``Scheduler``). Idempotent: a
    second call leaves the first wrappers (and their scheduler) in place.

    :raises heat_release.IncompatibleHeat: the installed Heat is not one
        this module was read and tested on (nothing is wrapped then).
    """
    check_heat_version()

    current = heat_stack.Stack._converge_create_or_update
    if getattr(current, '_hme_original', None) is None:
        original = current

        @heat_stack.reset_state_on_error
        def _converge_create_or_update(self, pre_converge=None,
                                       abandon=False, **kwargs):
            if scheduler.handles(self, abandon=abandon, **kwargs):
                return scheduler.start(self, pre_converge=pre_converge)
            # reset_state_on_error is already applied to the original.
            return original.__wrapped__(self, pre_converge=pre_converge,
                                        abandon=abandon, **kwargs)

        _converge_create_or_update._hme_original = original
        heat_stack.Stack._converge_create_or_update = \
            _converge_create_or_update

    validate = heat_stack.Stack.validate
    if getattr(validate, '_hme_original', None) is None:
        @functools.wraps(validate)
        def validate_stack(self, *args, **kwargs):
            scheduler.before_validate(self)
            result = validate(self, *args, **kwargs)
            scheduler.after_validate(self)
            return result

        validate_stack._hme_original = validate
        heat_stack.Stack.validate = validate_stack

    start = heat_worker.WorkerService.start
    if getattr(start, '_hme_original', None) is None:
        @functools.wraps(start)
        def start_worker(self):
            start(self)
            scheduler.worker_started(self)

        start_worker._hme_original = start
        heat_worker.WorkerService.start = start_worker

    stop = heat_worker.WorkerService.stop_traversal
    if getattr(stop, '_hme_original', None) is None:
        @functools.wraps(stop)
        def stop_traversal(self, stack):
            # Heat's method stops the stack and its IN_PROGRESS nested
            # stacks; which ones must be known before it changes them.
            stack_ids = scheduler.stacks_running(stack)
            stop(self, stack)
            scheduler.traversals_stopped(stack, stack_ids)

        stop_traversal._hme_original = stop
        heat_worker.WorkerService.stop_traversal = stop_traversal
