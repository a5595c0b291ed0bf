"""The one place that touches Heat's traversal and worker private code.

(How a node parses resource definitions is ``lean_defn``'s, alone.)

Four methods are wrapped; the traversal starter's and ``stop_traversal``'s
signatures are checked against the installed Heat at import:

* ``Stack._converge_create_or_update``: the traversal starter. For the
  actions Mistral drives, ``starter.start`` runs instead of Heat's leaf
  casts; for everything else Heat's own method runs unchanged.
* ``WorkerService.start``: after Heat's worker starts (in each forked engine
  worker), the RPC server that runs resource nodes for Mistral starts too.
* ``Stack.validate`` (public): first refuses a bad
  ``mistral_max_concurrent_resources`` stack tag, so that creating or
  updating such a stack fails at once with a message naming the tag; after
  Heat's checks, refuses operator hooks that cannot run
  (``hook_validation``).
* ``WorkerService.stop_traversal``: the one place where Heat stops a
  convergence traversal without starting another (``openstack stack cancel
  --no-rollback``, and delete of a stack still IN_PROGRESS). Heat's own
  method runs first; then the Mistral executions of the traversals it
  stopped, the stack's and its nested stacks', are cancelled.

``register_resource_types`` (every heat-engine, scheduler enabled or not)
makes Heat's global environment know this package's resource types
(``OS::Mistral::Hook``): Heat fills that environment only from its own
package and ``plugin_dirs``, so the type is registered into the
environment Heat is building, just before Heat reads the operator's
``environment.d`` files (which may still remap it, as any built-in type).

``prepare_traversal`` repeats the preamble of Heat's traversal starter with
Heat's own private helpers, so that the stored ``current_deps`` and resource
rows are exactly what native Heat would store.
"""

import functools
import gc
import inspect

from heat.engine import environment as heat_environment
from heat.engine import resources as heat_resources
from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

# Heat releases whose private methods below were read and tested.
SUPPORTED_HEAT = ((27, 0), (28, 0))   # [min, max)
_EXPECTED_PARAMS = ('self', 'pre_converge', 'abandon')
_EXPECTED_STOP_PARAMS = ('self', 'stack')
_EXPECTED_READ_ENV_PARAMS = ('env', 'env_dir')


class IncompatibleHeat(RuntimeError):
    pass


def check_heat_version():
    """Raise IncompatibleHeat unless Heat is a release this code knows."""
    problem = heat_release.problem(SUPPORTED_HEAT,
                                   'heat-mistral-engine supports')
    if problem:
        raise IncompatibleHeat(problem)
    params = tuple(inspect.signature(
        _original_converge()).parameters)
    if params[:len(_EXPECTED_PARAMS)] != _EXPECTED_PARAMS:
        raise IncompatibleHeat(
            'Stack._converge_create_or_update%s does not match the expected '
            'parameters %s' % (params, _EXPECTED_PARAMS))
    params = tuple(inspect.signature(_original_stop_traversal()).parameters)
    if params != _EXPECTED_STOP_PARAMS:
        raise IncompatibleHeat(
            'WorkerService.stop_traversal%s does not match the expected '
            'parameters %s' % (params, _EXPECTED_STOP_PARAMS))


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


def freeze_startup_objects():
    """Keep the garbage collector from rescanning start-up objects.

    Each node parses the stack's template, allocating enough objects to
    trigger full collections that walk the whole heap of the engine worker,
    most of it modules and objects that live as long as the process.
    Measured offline, the collector took 38% of a node's CPU in a
    1000-resource stack. Called once per engine worker after start-up.
    """
    gc.collect()
    gc.freeze()


def install():
    """Wrap Heat's traversal starter, validate, worker start and stop.

    Idempotent.
    """
    check_heat_version()
    from heat_mistral_engine.heat.traversal import concurrency_cap
    from heat_mistral_engine.heat.operator_hooks import hook_validation
    from heat_mistral_engine.heat.node import server
    from heat_mistral_engine.heat.traversal import starter

    current = heat_stack.Stack._converge_create_or_update
    if getattr(current, '_hme_original', None) is None:
        original = current

        @heat_stack.reset_state_on_error
        def _converge_create_or_update(self, pre_converge=None,
                                       abandon=False, **kwargs):
            if starter.handles(self, abandon=abandon, **kwargs):
                return starter.start(self, pre_converge=pre_converge)
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
            concurrency_cap.check_tags(self.tags)
            result = validate(self, *args, **kwargs)
            # After Heat's checks: the resources (and their types) are
            # known to be valid before Mistral is asked about hooks.
            hook_validation.check_stack(self)
            return result

        validate_stack._hme_original = validate
        heat_stack.Stack.validate = validate_stack

    start = heat_worker.WorkerService.start
    if getattr(start, '_hme_original', None) is None:
        @functools.wraps(start)
        def start_worker(self):
            start(self)
            server.start_node_server(self)
            freeze_startup_objects()

        start_worker._hme_original = start
        heat_worker.WorkerService.start = start_worker

    stop = heat_worker.WorkerService.stop_traversal
    if getattr(stop, '_hme_original', None) is None:
        @functools.wraps(stop)
        def stop_traversal(self, stack):
            # Heat's method stops the stack and its IN_PROGRESS nested
            # stacks; which ones must be known before it changes them.
            stack_ids = starter.stacks_running(stack)
            stop(self, stack)
            starter.traversals_stopped(stack, stack_ids)

        stop_traversal._hme_original = stop
        heat_worker.WorkerService.stop_traversal = stop_traversal


def register_resource_types(mapping):
    """Register ``{type name: Resource class}`` in Heat's global environment.

    heat-engine imports the plugin module (which calls this) while Heat
    builds its global environment (``heat.engine.resources.initialise``),
    between loading its own resource types and reading ``environment.d``.
    The environment being built is reachable only as the argument of
    ``read_global_environment``, which is therefore wrapped to register
    the types first. Called after the environment exists (tests, other
    processes), the types are registered into it directly. Idempotent.
    """
    built = heat_resources._environment
    if built is not None:
        _register_classes(built, mapping)
        return
    read = heat_environment.read_global_environment
    pending = getattr(read, '_hme_types', None)
    if pending is not None:
        pending.update(mapping)
        return
    params = tuple(inspect.signature(read).parameters)
    if params != _EXPECTED_READ_ENV_PARAMS:
        raise IncompatibleHeat(
            'heat.engine.environment.read_global_environment%s does not '
            'match the expected parameters %s'
            % (params, _EXPECTED_READ_ENV_PARAMS))

    @functools.wraps(read)
    def read_global_environment(env, env_dir=None):
        _register_classes(env, read_global_environment._hme_types)
        return read(env, env_dir)

    read_global_environment._hme_types = dict(mapping)
    read_global_environment._hme_original = read
    heat_environment.read_global_environment = read_global_environment


def _register_classes(env, mapping):
    for name, cls in sorted(mapping.items()):
        env.register_class(name, cls)
        LOG.info('heat-mistral-engine registered resource type %s', name)
