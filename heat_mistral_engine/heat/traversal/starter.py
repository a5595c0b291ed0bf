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

"""Start a stack traversal as a Mistral execution (runs in heat-engine).

Called instead of Heat's traversal starter for the actions Mistral drives.
After Heat's own preamble (resource rows, graph, ``current_deps``), it

1. builds the task graph and compiles it into a workflow of the traversal's
   own: ``heat_stack_<stack id>`` in the Mistral namespace named after the
   traversal (see ``MistralService.create_workflow`` for why a traversal
   never reuses an earlier one's definition);
2. cancels executions of earlier traversals of the stack that still run,
   if this traversal is still the stack's current one (``executions.
   supersede``; a start that a newer traversal superseded meanwhile hands
   nothing to Mistral);
3. creates the stack's completion sync point, so that the last root node
   marks the stack complete exactly as Heat's workers do, the mark that
   tells the orphan check this traversal is Mistral's (``traversal_mark``),
   and the slots
   that limit how many resource actions run at once (when a limit is set,
   see ``concurrency_cap`` and ``slots``);
4. starts the execution, whose input is the stack id, the traversal id,
   the sealed traversal token (which carries the limit) and what before
   hooks are told about their resources (template text, which the
   definition may not hold: see ``graph.workflow``);
5. checks again that the traversal is current (a newer one may have
   listed the executions before this one existed: then this one cancels
   its own), and deletes the definitions of the stack's traversals whose
   executions have all ended (``MistralService.delete_workflows``).

Any failure raises; the caller (decorated like Heat's method with
``reset_state_on_error``) then marks the stack FAILED with the message, so a
stack never stays IN_PROGRESS because Mistral could not be reached.

Ending executions when Heat stops a traversal is ``executions``' part.
"""

from heat.engine import stack as heat_stack
from heat.engine import sync_point
from heat.objects import snapshot as snapshot_object
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine import config
from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.traversal import concurrency_cap
from heat_mistral_engine.heat.traversal import executions
from heat_mistral_engine.heat.traversal import graph_source
from heat_mistral_engine.heat.operator_hooks import hook_plan
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.traversal import nested_link
from heat_mistral_engine.heat.operator_hooks import hooks_file
from heat_mistral_engine.heat.store import hook_requirements
from heat_mistral_engine.heat.store import slots
from heat_mistral_engine.heat.store import traversal_mark
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine.heat.traversal import handover_delays

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
    handover_delays.pause('traversal start: after storing the traversal')

    graph = graph_source.task_graph(stack)
    operator = traversal_hooks(stack)
    cap = traversal_cap(stack, len(graph))
    service = mistral_api.MistralService()
    name = workflow.workflow_name(stack.id)
    current = stack.current_traversal
    superseded_by_us = executions.supersede(
        stack.id, current, lambda: is_current(stack),
        'Superseded by the %s traversal %s of the stack'
        % (stack.action, current), service=service)
    if superseded_by_us is None:
        LOG.info('Stack %s %s traversal %s was superseded while it started: '
                 'not handed to Mistral', stack.id, stack.action, current)
        return
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
    required = (hook_tasks.required_hooks(graph, operator, plans)
                if operator else {})
    if required:
        # Heat's own record of what the hooks must prove (``hook_proofs``),
        # stored before any node can ask for it.
        hook_requirements.record(stack.context, stack.id,
                                 stack.current_traversal, required)
    workflow_id = service.create_workflow(
        name, workflow.to_yaml(definition), namespace=current)
    handover_delays.pause('traversal start: between upload and execution')
    execution = service.start_execution(
        workflow_id,
        workflow_input={
            'stack_id': stack.id,
            'traversal': stack.current_traversal,
            'token': traversal_token.seal(
                stack.context, stack.id, stack.current_traversal,
                converge=stack.converge, max_concurrent=cap,
                after_hooks=hook_tasks.after_hook_attributes(graph,
                                                             operator),
                hooks=bool(required)),
            # Template text, as data: the definition may not hold it.
            hook_tasks.RESOURCES_INPUT: hook_tasks.before_resources(
                graph, operator, plans, stack.id, stack.name),
        },
        description=description,
        params=nested_link.execution_params(link))
    if not is_current(stack):
        # A newer traversal became current after the check above; its
        # start may have listed the executions before this one existed.
        executions.withdraw(stack.id, current, execution.id, service)
        return
    service.delete_workflows(name, keep_namespace=current)
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


def is_current(stack):
    """True while the stack's stored row still names this traversal.

    Read from the database, not from ``stack``, whose traversal is the one
    this start was given.
    """
    row = stack_row.traversal_state(stack.context, stack.id)
    return row is not None and row.current_traversal == \
        stack.current_traversal


def node_timeouts(conf=cfg.CONF):
    """Whether resource tasks get Mistral's task timeout.

    Only as a backstop where nothing else ends a node that no heat-engine
    answers: when ``node_task_timeout`` asks for it, or when the watchdog
    (which re-runs lost nodes) is off.
    """
    group = conf[config.GROUP]
    return bool(group.node_task_timeout or not group.watchdog_interval)


def traversal_hooks(stack):
    """The operator hooks of the traversal (see ``operator_hooks.hooks_file``).

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
