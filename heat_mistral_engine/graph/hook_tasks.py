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

"""Operator hooks as tasks of a stack's workflow (pure, see ``workflow``).

For a node with hooks the compiler puts a chain of tasks where the node's
single task was::

    predecessors -> before hooks -> node -> after hooks [-> hooks_done]
                                                        -> successors

* A hook task runs the operator's workflow as a sub-workflow. Its input is
  ``resource`` (``operator_hooks.resource_input``) plus the entry's static
  ``input`` (operator configuration, passed as written); its output is
  published as ``hook_<task>``, so it is visible
  in Mistral and in ``openstack stack workflow show``. The node's
  successors read its receipt (``node_<id>``) from the node task's
  ``published`` (``published.expression``), so the hook tasks between
  them need not pass it on.
* A before hook runs for the action heat-engine expects when the traversal
  starts (``plan``: create for a resource never created, update for one
  that exists, delete for a cleanup node that removes its resource). Its
  ``resource`` names the stack and the resource, template text that
  Mistral must not evaluate: heat-engine gives it in the execution's input
  (``RESOURCES_INPUT``, built by ``before_resources``), under a key the
  compiler makes from the node's id, and the task reads it with
  ``{{ _.hook_resources["<key>"] }}``. Mistral evaluates neither an
  execution's input nor what an expression returns.
* An after hook runs only for what Heat actually did: the node's action
  output carries ``hook`` (what the node did, its physical id and the
  attributes the hooks asked for; heat-engine decides what, see
  ``heat.node.runner``), published as ``resource_<id>``, which the hook
  task reads from the node task's ``published``; the hook task's
  ``with-items`` list holds that one item when the action is one of the
  hook's actions, and is empty otherwise, which Mistral completes as
  SUCCESS without running anything. A skipped task still feeds its
  successors, so ``join: all`` tasks behind it never starve.
* A hook task that fails or times out goes to ``<task>__failed``, which
  reports the error to heat-engine (action ``heat.hook_report``): Heat fails
  the stack with the hook's message, and rolls back if enabled, as for a
  failed resource.
* A node that nothing depends on completes the stack in Heat only after its
  after hooks: ``<node>__hooks_done`` hands its receipt to heat-engine
  (``heat.hook_report``) instead of the node doing it.

Tags: every hook task has ``operator-hook:<when>:<node task>:<hook name>``,
the report tasks ``operator-hook-report:<node task>``; tools reading the
definition back tell them from resource tasks with ``hook_of``. Task names
follow ``naming``: ``<node task>__before__<hook>``,
``<node task>__after__<hook>``, unique and short by construction.
"""

import collections

from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.graph import published
from heat_mistral_engine import protocol

REPORT_ACTION = 'heat.hook_report'
HOOK_TAG = 'operator-hook:'
REPORT_TAG = 'operator-hook-report:'
# The workflow input holding before hooks' ``resource``, by ``resource_key``.
RESOURCES_INPUT = 'hook_resources'

Chain = collections.namedtuple('Chain', ['order', 'tasks', 'after',
                                         'completes'])


def resource_variable(node):
    """Variable holding what a node did, for its after hooks."""
    suffix = '' if node.is_update else '_cleanup'
    return 'resource_%s%s' % (node.resource_id, suffix)


def node_actions(node):
    """Actions a node can turn out to be."""
    return ('create', 'update') if node.is_update else ('delete',)


def chain(node, node_task, receipt_variable, hooks, plan,
          task_timeout=None, completes_stack=False):
    """The hook tasks of one node, or None if no hook applies.

    :param node_task: the node's task name.
    :param receipt_variable: where the node publishes its receipt. The
        node task publishes it, and ``resource_variable(node)`` when it
        has after hooks; the hook tasks read both from its ``published``.
    :param plan: {'action', 'physical_resource_id'} expected for the node,
        for before hooks (no action: no before hook).
    :param completes_stack: nothing depends on the node: Heat completes
        the stack when it is done, so after hooks must report it.
    :returns: Chain(task names in run order, the node's included;
        {task name: task} of the hook and report tasks, wired to each other
        but not to the node; whether there are after hooks; the name of the
        hooks_done task or None). The caller wires the node into ``order``,
        the predecessors to its first task, its last task to the successors,
        or to ``completes`` when the node has none.
    """
    planned = (plan or {}).get('action')
    before = _before_hooks(node, hooks, plan)
    after = operator_hooks.matching(hooks, node.resource_name,
                                    node.resource_type, 'after',
                                    node_actions(node))
    if not before and not after:
        return None
    tasks = {}
    order = []
    for hook in before:
        name = naming.hook_task(node_task, hook)
        task = _hook_task(hook, node_task, name, task_timeout)
        task['input'][operator_hooks.RESOURCE_INPUT] = (
            '{{ _.%s["%s"] }}' % (RESOURCES_INPUT, resource_key(node)))
        tasks[name] = task
        order.append(name)
        tasks.update(_failure_task(node, name, hook, planned))
    order.append(node_task)
    # What the node did: the node task's published resource_<id>.
    did = published.reference(node_task, resource_variable(node))
    for hook in after:
        name = naming.hook_task(node_task, hook)
        task = _hook_task(hook, node_task, name, task_timeout)
        task['with-items'] = (
            'resource in {{ [%s] if (%s or {}).get("action") in %s '
            'else [] }}' % (did, did, sorted(hook.actions)))
        task['input'][operator_hooks.RESOURCE_INPUT] = '{{ _.resource }}'
        tasks[name] = task
        order.append(name)
        tasks.update(_failure_task(
            node, name, hook, '{{ (%s or {}).get("action") }}' % did))
    completes = None
    if after and completes_stack:
        completes = naming.hooks_done_task(node_task)
        tasks[completes] = _report_task(node, node_task, {
            'receipt': published.expression(node_task, receipt_variable)})
    for first, then in zip(order, order[1:]):
        if first != node_task:
            tasks[first]['on-success'] = [then]
    return Chain(tuple(order), tasks, bool(after), completes)


def resource_key(node):
    """A node's key in ``RESOURCES_INPUT``: made by the compiler alone."""
    return protocol.data_key(node.resource_id, node.is_update)


def before_resources(graph, hooks, plans, stack_id, stack_name):
    """The ``RESOURCES_INPUT`` of an execution: before hooks' ``resource``.

    {``resource_key``: ``operator_hooks.resource_input``} for the nodes of
    ``graph`` that have before hooks under ``plans`` (as given to
    ``workflow.build``); JSON-safe, for the execution's input.
    """
    found = {}
    for node in graph:
        plan = (plans or {}).get(node.key)
        if _before_hooks(node, hooks, plan):
            found[resource_key(node)] = operator_hooks.resource_input(
                stack_id, stack_name, node.resource_name,
                node.resource_type, plan['action'],
                plan.get('physical_resource_id'))
    return found


def hook_of(task):
    """(when, node task, hook name) of a hook task definition, or None."""
    for tag in task.get('tags') or ():
        if tag.startswith(HOOK_TAG):
            when, node_task, name = tag[len(HOOK_TAG):].split(':', 2)
            return when, node_task, name
    return None


def is_report(task):
    """True for the report tasks (``_failed``, ``_hooks_done``)."""
    return any(tag.startswith(REPORT_TAG) for tag in task.get('tags') or ())


def _before_hooks(node, hooks, plan):
    planned = (plan or {}).get('action')
    if not planned:
        return []
    return operator_hooks.matching(hooks, node.resource_name,
                                   node.resource_type, 'before', (planned,))


def _hook_task(hook, node_task, name, task_timeout):
    task = {
        'workflow': hook.workflow,
        'input': dict(hook.input),
        'publish': {'hook_%s' % name: '{{ task().result }}'},
        'on-error': [naming.failure_task(name)],
        'tags': ['%s%s:%s:%s' % (HOOK_TAG, hook.when, node_task, hook.name)],
    }
    timeout = hook.timeout or task_timeout
    if timeout:
        task['timeout'] = int(timeout)
    return task


def _failure_task(node, hook_task, hook, action):
    name = naming.failure_task(hook_task)
    task = _report_task(node, hook_task, {
        'hook': hook.name, 'workflow': hook.workflow, 'when': hook.when,
        'action': action,
        'error': '{{ task("%s").state_info }}' % hook_task,
        'details': '{{ task("%s").result }}' % hook_task,
        'timeout': hook.timeout})
    # The execution ends in ERROR, as when a resource fails (Heat would
    # end it so too; this also covers a rollback's quicker start).
    task['on-complete'] = ['fail']
    return {name: task}


def _report_task(node, about, fields):
    task_input = {
        'stack_id': '{{ _.stack_id }}',
        'traversal': '{{ _.traversal }}',
        'token': '{{ _.token }}',
        'resource_id': node.resource_id,
        'is_update': node.is_update,
    }
    task_input.update(fields)
    return {'action': REPORT_ACTION, 'input': task_input,
            'tags': ['%s%s' % (REPORT_TAG, about)]}


def after_hook_attributes(graph, hooks):
    """{protocol data key: [attribute names]} of nodes with after hooks.

    What heat-engine seals into the traversal token: the nodes whose action
    output must say what they did (for their after hooks) and which
    attributes to hand over in clear; only those.
    """
    found = {}
    for node in graph:
        if operator_hooks.matching(hooks, node.resource_name,
                                   node.resource_type, 'after',
                                   node_actions(node)):
            wanted = set()
            for action in node_actions(node):
                wanted.update(operator_hooks.attributes_wanted(
                    hooks, node.resource_name, node.resource_type, action))
            found[protocol.data_key(node.resource_id, node.is_update)] = (
                sorted(wanted))
    return found


def required_hooks(graph, hooks, plans):
    """What heat-engine requires of the hooks: {data key: [requirement]}.

    For every node of ``graph`` with hooks under ``plans`` (as given to
    ``workflow.build``), a list of dicts ``{"when", "hook", "workflow",
    "task", "actions"}``: the hook's ``when`` and name, the workflow it
    runs, the name of its task in the traversal's workflow (as ``chain``
    names it) and the actions it applies to (sorted). JSON-safe: heat-engine
    stores it with the traversal (``heat.store.hook_requirements``) and
    refuses a node whose before hooks, or completes a stack whose after
    hooks, did not run (``heat.node.hook_proofs``), whatever Mistral's
    ordering did. Nodes without hooks are left out; {} for none.
    """
    names = naming.node_tasks(graph)
    found = {}
    for node in graph:
        before = _before_hooks(node, hooks, (plans or {}).get(node.key))
        after = operator_hooks.matching(hooks, node.resource_name,
                                        node.resource_type, 'after',
                                        node_actions(node))
        if before or after:
            found[resource_key(node)] = [
                {'when': hook.when, 'hook': hook.name,
                 'workflow': hook.workflow,
                 'task': naming.hook_task(names[node.key], hook),
                 'actions': sorted(hook.actions)}
                for hook in list(before) + list(after)]
    return found
