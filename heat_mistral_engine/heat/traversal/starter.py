"""Start a stack traversal as a Mistral execution (runs in heat-engine).

Called instead of Heat's traversal starter for the actions Mistral drives.
After Heat's own preamble (resource rows, graph, ``current_deps``), it

1. builds the task graph and compiles it into a workflow of the traversal's
   own: ``heat_stack_<stack id>`` in the Mistral namespace named after the
   traversal (see ``MistralService.create_workflow`` for why a traversal
   never reuses an earlier one's definition);
2. cancels executions of earlier traversals of the stack that still run,
   and deletes their definitions;
3. creates the stack's completion sync point, so that the last root node
   marks the stack complete exactly as Heat's workers do, the mark that
   tells the orphan check this traversal is Mistral's (``traversal_mark``),
   and the slots
   that limit how many resource actions run at once (when a limit is set,
   see ``concurrency_cap`` and ``slots``);
4. starts the execution, whose input is the stack id, the traversal id,
   the sealed traversal token (which carries the limit) and what before
   hooks are told about their resources (template text, which the
   definition may not hold: see ``graph.workflow``).

Any failure raises; the caller (decorated like Heat's method with
``reset_state_on_error``) then marks the stack FAILED with the message, so a
stack never stays IN_PROGRESS because Mistral could not be reached.

The other end of a traversal's life is here too: whenever Heat stops a
traversal, no execution may stay RUNNING for it. A new traversal
(update, delete, rollback) cancels the older ones in ``start``; Heat's
``stop_traversal`` (cancel without rollback, delete while in progress) ends
them through ``traversals_stopped`` (called from ``hooks``); a failure
without rollback (a failed resource, a timeout) through
``traversal_failed`` (called by the node runner).
"""

import json

from heat.engine import stack as heat_stack
from heat.engine import sync_point
from heat.objects import snapshot as snapshot_object
from heat.objects import stack as stack_objects
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine import config
from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.traversal import concurrency_cap
from heat_mistral_engine.heat.traversal import graph_source
from heat_mistral_engine.heat.operator_hooks import hook_plan
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.traversal import nested_link
from heat_mistral_engine.heat.operator_hooks import hooks_file
from heat_mistral_engine.heat.store import slots
from heat_mistral_engine.heat.store import traversal_mark
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine.heat import test_delays

LOG = logging.getLogger(__name__)

# Actions whose traversals Mistral orders. CHECK, SUSPEND, RESUME, SNAPSHOT
# and RESTORE keep Heat's native path for now.
HANDLED_ACTIONS = frozenset((heat_stack.Stack.CREATE, heat_stack.Stack.UPDATE,
                             heat_stack.Stack.DELETE,
                             heat_stack.Stack.ROLLBACK))

# Length of Mistral's executions.description column (String(255)).
MAX_DESCRIPTION = 255

# Seconds Mistral's task timeout exceeds the stack's timeout. Heat decides
# when a stack times out (the resource action's own timeout, or the check
# before a node starts) and then ends the execution; Mistral's task timeout
# is only the backstop for a node that no heat-engine answers, so it must
# not win the race against Heat's "Timed out".
TASK_TIMEOUT_GRACE = 60

# The states an execution of a traversal Heat has stopped ends in.
CANCELLED = 'CANCELLED'
ERROR = 'ERROR'


def handles(stack, abandon=False, **unknown_kwargs):
    """True if Mistral should order this traversal of ``stack``.

    Abandon, adopt, actions outside HANDLED_ACTIONS and deletes of stacks
    with snapshots (their graph has snapshot nodes) stay native.
    """
    if abandon or unknown_kwargs or stack.adopt_stack_data:
        return False
    if stack.action not in HANDLED_ACTIONS:
        return False
    if stack.action == stack.DELETE and snapshot_object.Snapshot.get_all(
            stack.context, stack.id):
        return False
    return True


def start(stack, pre_converge=None):
    """Run Heat's preamble, then hand the traversal to Mistral."""
    if not convergence.prepare_traversal(stack):
        return
    if callable(pre_converge):
        pre_converge()

    graph = graph_source.task_graph(stack)
    operator = traversal_hooks(stack)
    cap = traversal_cap(stack, len(graph))
    service = mistral_api.MistralService()
    name = workflow.workflow_name(stack.id)
    current = stack.current_traversal
    end_executions(
        stack.id, lambda traversal: traversal != current, CANCELLED,
        'Superseded by the %s traversal %s of the stack'
        % (stack.action, current), service=service)
    if not len(graph):
        stack.mark_complete()
        return

    sync_point.create(stack.context, stack.id, stack.current_traversal,
                      True, stack.id)
    traversal_mark.mark(stack.context, stack.id, stack.current_traversal)
    if cap:
        slots.create(stack.context, stack.id, stack.current_traversal, cap)
    link = nested_link.parent_link(stack, service)
    description = execution_description(stack, link)
    plans = hook_plan.plans(stack, graph) if operator else None
    definition = workflow.build(
        graph, name, description=description,
        task_timeout=stack.timeout_secs() + TASK_TIMEOUT_GRACE,
        node_timeouts=node_timeouts(),
        hooks=operator, plans=plans)
    workflow_id = service.create_workflow(
        name, workflow.to_yaml(definition), namespace=current)
    # The earlier traversals' executions were ended above: their
    # definitions are not needed any more.
    service.delete_workflows(name, keep_namespace=current)
    test_delays.pause('traversal start: between upload and execution')
    execution = service.start_execution(
        workflow_id,
        workflow_input={
            'stack_id': stack.id,
            'traversal': stack.current_traversal,
            'token': traversal_token.seal(
                stack.context, stack.id, stack.current_traversal,
                converge=stack.converge, max_concurrent=cap,
                after_hooks=hook_tasks.after_hook_attributes(graph,
                                                             operator)),
            # Template text, as data: the definition may not hold it.
            hook_tasks.RESOURCES_INPUT: hook_tasks.before_resources(
                graph, operator, plans, stack.id, stack.name),
        },
        description=description,
        params=nested_link.execution_params(link))
    LOG.info('Stack %(stack)s %(action)s traversal %(trav)s: Mistral '
             'execution %(ex)s of %(wf)s with %(n)d tasks',
             {'stack': stack.id, 'action': stack.action,
              'trav': stack.current_traversal, 'ex': execution.id,
              'wf': name, 'n': len(graph)})
    if link is not None:
        LOG.info('Stack %(stack)s is nested in resource %(res)s of stack '
                 '%(parent)s: execution %(ex)s runs under task %(task)s '
                 '(task execution %(task_ex)s) of execution %(parent_ex)s',
                 {'stack': stack.id, 'res': link.resource,
                  'parent': link.stack_id, 'ex': execution.id,
                  'task': link.task, 'task_ex': link.task_execution_id,
                  'parent_ex': link.execution_id})
    if cap:
        LOG.info('Stack %s traversal %s: at most %d resource actions at '
                 'once', stack.id, stack.current_traversal, cap)
    return execution


def node_timeouts(conf=cfg.CONF):
    """Whether resource tasks get Mistral's task timeout.

    Only as a backstop where nothing else ends a node that no heat-engine
    answers: when ``node_task_timeout`` asks for it, or when the watchdog
    (which re-runs lost nodes) is off.
    """
    group = conf[config.GROUP]
    return bool(group.node_task_timeout or not group.watchdog_interval)


def traversal_hooks(stack):
    """The operator hooks of the traversal (see ``operator_hooks_file``).

    A bad hooks file fails a create or update with its message (validation
    refused it earlier unless the file changed since); a delete or rollback
    runs without hooks instead, so that a stack can always be deleted.
    """
    try:
        return hooks_file.load()
    except Exception as exc:
        # Any failure, not only a refused file: nothing in it may keep a
        # stack from being deleted.
        if stack.action in (stack.CREATE, stack.UPDATE):
            raise
        LOG.error('Stack %s %s runs without operator hooks: %s', stack.id,
                  stack.action, exc)
        return ()


def traversal_cap(stack, node_count):
    """The traversal's limit of resource actions at once (0: none).

    A bad ``mistral_max_concurrent_resources`` tag fails a create or update
    (Heat refuses it earlier, at validation, unless the stack was stored
    before the plugin checked tags); a delete or rollback uses heat.conf's
    default instead, so that a stack can always be deleted.
    """
    try:
        return concurrency_cap.traversal_cap(stack.tags, node_count)
    except concurrency_cap.BadCapTag as exc:
        if stack.action in (stack.CREATE, stack.UPDATE):
            raise
        LOG.warning('Stack %s %s: %s; using [mistral_scheduler] '
                    'max_concurrent_resources', stack.id, stack.action, exc)
        return concurrency_cap.traversal_cap((), node_count)


def execution_description(stack, link=None):
    """The text Mistral shows for the stack's workflow and execution.

    ``Heat stack NAME (ID) ACTION, traversal TRAVERSAL, request REQUEST``,
    and for a nested stack (``link``, a ``nested_link.ParentLink``)
    ``, parent execution EXECUTION``: mistral-api logs it when the
    execution is created and ``openstack workflow execution list`` shows
    it, so a Mistral execution leads back to the Heat stack, to heat-api's
    request id and to the execution it is nested in. Mistral keeps
    an execution's description in a 255-character column, which MariaDB in
    oslo.db's default (strict) SQL mode and PostgreSQL refuse to overflow,
    so a long stack name is shortened; the ids stay whole.
    ``openstack stack workflow show`` reads ACTION back from this text.
    """
    request_id = getattr(stack.context, 'request_id', None) or '-'
    text = 'Heat stack %s (%s) %s, traversal %s, request %s'
    ids = (stack.id, stack.action, stack.current_traversal, request_id)
    if link is not None:
        text += ', parent execution %s'
        ids += (link.execution_id,)
    name = stack.name or ''
    room = MAX_DESCRIPTION - len(text % (('',) + ids))
    if len(name) > room:
        name = name[:max(room - 3, 0)] + '...'
    return (text % ((name,) + ids))[:MAX_DESCRIPTION]


def end_executions(stack_id, select, state, reason, service=None):
    """End the stack's running executions whose traversal ``select`` takes.

    ``select`` is called with each RUNNING or PAUSED execution's traversal
    id; the executions it returns True for end in ``state`` (CANCELLED or
    ERROR) with ``reason`` as their state_info. Their tasks still running
    finish when heat-engine reports them, but Mistral starts no successor:
    no resource action of that traversal begins any more. Returns the ids
    of the executions ended; raises MistralUnavailable.
    """
    service = service or mistral_api.MistralService()
    name = workflow.workflow_name(stack_id)
    try:
        running = service.running_executions(name)
    except mistral_api.MistralUnavailable as exc:
        if 'not found' in str(exc).lower():
            return []   # no traversal of this stack ever went to Mistral
        raise
    ended = []
    for execution in running:
        traversal = _execution_traversal(execution)
        if not select(traversal):
            continue
        LOG.info('Stack %(stack)s: ending Mistral execution %(ex)s of '
                 'traversal %(trav)s as %(state)s: %(reason)s',
                 {'stack': stack_id, 'ex': execution.id, 'trav': traversal,
                  'state': state, 'reason': reason})
        service.stop_execution(execution.id, state, reason)
        ended.append(execution.id)
    return ended


def end_executions_quietly(stack_id, select, state, reason):
    """``end_executions`` for Heat's stop paths: logs instead of raising.

    Heat's own cancel, delete or failure must not fail because Mistral is
    unreachable; the execution's remaining nodes are then refused as stale
    instead, and the execution ends when they have been.
    """
    try:
        return end_executions(stack_id, select, state, reason)
    except Exception as exc:
        LOG.error('Stack %s: could not end the Mistral execution of a '
                  'stopped traversal (its remaining nodes will be refused): '
                  '%s', stack_id, exc)
        return []


def stacks_running(stack):
    """Ids of ``stack`` and its descendants that are IN_PROGRESS.

    Taken before Heat's ``stop_traversal``, which stops exactly these.
    """
    ids = [stack.id]
    for child in stack_objects.Stack.get_all_by_root_owner_id(
            stack.context, stack.id):
        if child.status == heat_stack.Stack.IN_PROGRESS:
            ids.append(child.id)
    return ids


def traversals_stopped(stack, stack_ids):
    """End the executions of traversals Heat's ``stop_traversal`` stopped.

    Called after it, with ``stacks_running`` taken before it. Each stack's
    executions for anything but its (new) current traversal are cancelled,
    with the stack's status reason (``Stack CREATE cancelled``).
    """
    rows = {stack.id: stack}
    if len(stack_ids) > 1:
        try:
            rows.update((child.id, child) for child in
                        stack_objects.Stack.get_all_by_root_owner_id(
                            stack.context, stack.id))
        except Exception as exc:
            # Heat's stop already happened; the nested executions' nodes
            # are refused as stale instead.
            LOG.error('Stack %s: could not read its nested stacks to end '
                      'their Mistral executions: %s', stack.id, exc)
    for stack_id in stack_ids:
        row = rows.get(stack_id)
        if row is None:
            continue
        current = row.current_traversal
        end_executions_quietly(
            stack_id, lambda traversal, current=current: traversal != current,
            CANCELLED, row.status_reason or 'Stack traversal stopped')


def traversal_failed(stack_id, traversal, reason):
    """End the execution of ``traversal`` that Heat marked FAILED.

    For a failure without rollback (a rollback starts a new traversal,
    which supersedes the execution itself): without this, the execution
    would stay RUNNING until every node still in flight had finished.
    """
    end_executions_quietly(stack_id, lambda t: t == traversal, ERROR, reason)


def _execution_traversal(execution):
    value = getattr(execution, 'input', None)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return (value or {}).get('traversal')
