"""Start a stack traversal as a Mistral execution (runs in heat-engine).

Called instead of Heat's traversal starter for the actions Mistral drives.
After Heat's own preamble (resource rows, graph, ``current_deps``), it

1. builds the task graph and compiles it into the stack's workflow;
2. cancels executions of earlier traversals of the stack that still run;
3. creates the stack's completion sync point, so that the last root node
   marks the stack complete exactly as Heat's workers do, and the slots
   that limit how many resource actions run at once (when a limit is set,
   see ``concurrency_cap`` and ``slots``);
4. starts the execution, whose input is the stack id, the traversal id and
   the sealed traversal token (which carries the limit).

Any failure raises; the caller (decorated like Heat's method with
``reset_state_on_error``) then marks the stack FAILED with the message, so a
stack never stays IN_PROGRESS because Mistral could not be reached.
"""

import json

from heat.engine import stack as heat_stack
from heat.engine import sync_point
from heat.objects import snapshot as snapshot_object
from oslo_log import log as logging

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat import concurrency_cap
from heat_mistral_engine.heat import graph_source
from heat_mistral_engine.heat import hooks
from heat_mistral_engine.heat import mistral_client
from heat_mistral_engine.heat import slots
from heat_mistral_engine.heat import traversal_token

LOG = logging.getLogger(__name__)

# Actions whose traversals Mistral orders. CHECK, SUSPEND, RESUME, SNAPSHOT
# and RESTORE keep Heat's native path for now.
HANDLED_ACTIONS = frozenset((heat_stack.Stack.CREATE, heat_stack.Stack.UPDATE,
                             heat_stack.Stack.DELETE,
                             heat_stack.Stack.ROLLBACK))

# Length of Mistral's executions.description column (String(255)).
MAX_DESCRIPTION = 255


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
    if not hooks.prepare_traversal(stack):
        return
    if callable(pre_converge):
        pre_converge()

    graph = graph_source.task_graph(stack)
    cap = traversal_cap(stack, len(graph))
    service = mistral_client.MistralService()
    name = workflow.workflow_name(stack.id)
    _cancel_earlier_executions(service, name, stack.current_traversal)
    if not len(graph):
        stack.mark_complete()
        return

    sync_point.create(stack.context, stack.id, stack.current_traversal,
                      True, stack.id)
    if cap:
        slots.create(stack.context, stack.id, stack.current_traversal, cap)
    description = execution_description(stack)
    definition = workflow.build(graph, name, description=description,
                                task_timeout=stack.timeout_secs())
    service.upsert_workflow(name, workflow.to_yaml(definition))
    execution = service.start_execution(
        name,
        workflow_input={
            'stack_id': stack.id,
            'traversal': stack.current_traversal,
            'token': traversal_token.seal(
                stack.context, stack.id, stack.current_traversal,
                converge=stack.converge, max_concurrent=cap),
        },
        description=description)
    LOG.info('Stack %(stack)s %(action)s traversal %(trav)s: Mistral '
             'execution %(ex)s of %(wf)s with %(n)d tasks',
             {'stack': stack.id, 'action': stack.action,
              'trav': stack.current_traversal, 'ex': execution.id,
              'wf': name, 'n': len(graph)})
    if cap:
        LOG.info('Stack %s traversal %s: at most %d resource actions at '
                 'once', stack.id, stack.current_traversal, cap)
    return execution


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


def execution_description(stack):
    """The text Mistral shows for the stack's workflow and execution.

    ``Heat stack NAME (ID) ACTION, traversal TRAVERSAL, request REQUEST``:
    mistral-api logs it when the execution is created and
    ``openstack workflow execution list`` shows it, so a Mistral execution
    leads back to the Heat stack and to heat-api's request id. Mistral keeps
    an execution's description in a 255-character column, which MariaDB in
    oslo.db's default (strict) SQL mode and PostgreSQL refuse to overflow,
    so a long stack name is shortened; the ids stay whole.
    ``openstack stack workflow show`` reads ACTION back from this text.
    """
    request_id = getattr(stack.context, 'request_id', None) or '-'
    text = 'Heat stack %s (%s) %s, traversal %s, request %s'
    ids = (stack.id, stack.action, stack.current_traversal, request_id)
    name = stack.name or ''
    room = MAX_DESCRIPTION - len(text % (('',) + ids))
    if len(name) > room:
        name = name[:max(room - 3, 0)] + '...'
    return (text % ((name,) + ids))[:MAX_DESCRIPTION]


def _cancel_earlier_executions(service, name, traversal):
    """Cancel executions of the stack's workflow for other traversals.

    Their nodes would be refused anyway (stale traversal); cancelling stops
    Mistral from dispatching them and leaves no execution running for a
    traversal Heat has abandoned.
    """
    try:
        running = service.running_executions(name)
    except mistral_client.MistralUnavailable as exc:
        if 'not found' in str(exc).lower():
            return
        raise
    for execution in running:
        if _execution_traversal(execution) == traversal:
            continue
        LOG.info('Cancelling Mistral execution %s of a superseded '
                 'traversal', execution.id)
        service.cancel_execution(execution.id)


def _execution_traversal(execution):
    value = getattr(execution, 'input', None)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return (value or {}).get('traversal')
