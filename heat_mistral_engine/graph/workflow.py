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

"""Compile a TaskGraph into a Mistral v2 direct workflow.

Shape of the output (one workflow per stack traversal):

* one task per node, running the asynchronous action ``heat.run_node``;
* an edge required -> requirer is an ``on-success`` transition, and a task
  with more than one predecessor has ``join: all``; tasks nothing points to
  are Mistral's start tasks;
* a task with successors publishes its result, the node's receipt sealed by
  heat-engine (for a create/update node it holds Heat's NodeData of the
  resource: only the attributes other resources reference), under a
  variable named after the node; each task's ``data`` input gathers the
  receipts of all its predecessors, keyed by ``protocol.data_key``, so that
  heat-engine can check that every predecessor really completed. Mistral
  cannot read or forge receipts (see ``heat.node.seal``);
* a task reads each predecessor's receipt from that task's ``published``
  (``{{ task("<task>").published.<variable> }}``, ``published``),
  not from its own context: Mistral's ``task()`` reads the predecessor's
  row. So no node task needs anything passed on in the context, and every
  node task is tagged ``NO_CONTEXT_TAG``: Mistral (with its patch
  ``own_task_context``) then stores in its successors' ``in_context`` none
  of what it published (without the patch, the workflow runs the same and
  Mistral copies every receipt into every task downstream, as upstream
  Mistral does). The operator hook tasks of a node (``hook_tasks``, not
  tagged) read the node's data the same way;
* the kinds of an edge (get_attr, hosted_on...; see model.TaskGraph) are a
  task tag of the required task, ``kinds:<requirer task>:<kind>,<kind>``:
  Mistral keeps tags with the definition and ignores them, so
  ``openstack stack workflow show`` can read the graph back with its
  labels (``edges``). Task names and kinds never contain ``:``.

Operator hooks (``hooks``, from the file heat.conf names) add tasks around
the nodes they apply to: see ``hook_tasks``.

The workflow input is ``stack_id``, ``traversal`` and ``token`` (the
stack's request context, encrypted by heat-engine); every task passes them to
its action. Nothing else about the stack is in the definition. The
execution's output, on success and on error, is ``stack_id`` and
``traversal`` only: Mistral's default, its final context, holds receipts
and can go over Mistral's field size limit (the execution could then not
be ended in ERROR).

No text from a template, an environment, parameters or a user is written
where Mistral evaluates (task inputs, ``publish``, ``with-items``,
transitions): Mistral renders every string there as Jinja or YAQL in the
service project's context, so a resource named ``x{{ 6*7 }}`` would reach
heat-engine as ``x42``, and worse expressions could read other stacks'
executions and tokens. Tasks carry the resource id, not its name
(heat-engine reads the name from the resource row); task names are
compiler-made identifiers (``naming``); what an operator hook is told
about a resource travels as data in the execution's input
(``hook_tasks.RESOURCES_INPUT``), which Mistral does not evaluate, and
the task reads it with an expression whose text only the compiler writes.
The workflow ``description`` (which names the stack) is not evaluated.

Expressions are Jinja (``{{ _.x }}``), not YAQL (``<% $.x %>``): Mistral's
YAQL parser is shared by the threads of mistral-api and mistral-engine and
is not thread-safe, so concurrent stacks got random "Parse error" failures
when creating workflows. A Jinja expression that is the whole value
evaluates to the raw object, so published node data keeps its types.
"""

import yaml

from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import published
from heat_mistral_engine import protocol

# Everything the compiler writes into expressions goes through these.
_CONTEXT_VALUE = '{{ _.%s }}'
_TASK_RECEIPT = '{{ task().result.node }}'
_TASK_HOOK_DATA = '{{ task().result.get("hook") }}'

ACTION = 'heat.run_node'
WORKFLOW_INPUT = ('stack_id', 'traversal', 'token')
# Every node task carries it: its successors read what it published with
# task() (graph.published), so Mistral (patched, mistral.patches.
# own_task_context) passes on nothing from it in the context.
NO_CONTEXT_TAG = 'heat-mistral-engine:no-context'
# What node tasks carried before NO_CONTEXT_TAG, when their successors read
# the receipts from the context: Mistral passes on from such a task only
# what it published. Generated workflows no longer carry it; the patch
# keeps honouring it for executions started before an upgrade.
OWN_CONTEXT_TAG = 'heat-mistral-engine:own-context'
# Every generated workflow's name starts so; Mistral-side patches scoped to
# the generated workflows tell them by it (mistral.patches.base).
WORKFLOW_PREFIX = 'heat_stack_'

# The execution's output (and output on error): small and fixed.
_OUTPUT = {'stack_id': _CONTEXT_VALUE % 'stack_id',
           'traversal': _CONTEXT_VALUE % 'traversal'}
_KINDS_TAG = 'kinds:'


def workflow_name(stack_id):
    """The Mistral workflow name used for every traversal of a stack."""
    return '%s%s' % (WORKFLOW_PREFIX, stack_id)


def task_names(graph):
    """Map node key -> Mistral task name: unique, safe and short enough.

    Create/update tasks are named after the resource and cleanup tasks
    ``<resource>_cleanup`` when the name is plain (words of
    ``[A-Za-z0-9-]`` joined by single ``_``, short, not ending like a
    generated name, not one of Mistral's engine commands, not shared by
    another node of the same kind); any other name becomes
    ``<sanitised name>_<resource id>`` (``_cleanup`` appended for cleanup
    nodes). Unique by construction, at most ``naming.NODE_MAX``
    characters: see ``naming`` for the rule and the argument.
    """
    return naming.node_tasks(graph)


def published_variable(node):
    """Name of the workflow variable holding a node's published receipt."""
    if node.is_update:
        return 'node_%s' % node.resource_id
    return 'node_%s_cleanup' % node.resource_id


def build(graph, name, description='', task_timeout=None, hooks=(),
          plans=None, node_timeouts=True):
    """Return the workflow definition as a dict (``version`` + one workflow).

    :param graph: a non-empty TaskGraph.
    :param name: the workflow name (see ``workflow_name``).
    :param task_timeout: seconds after which Mistral fails a task whose
        heat-engine never answered; None for no limit. Hook tasks without
        a timeout of their own get it too.
    :param node_timeouts: False to give the resource tasks no timeout
        (hook tasks keep theirs): each timeout costs Mistral a policy
        check and a stored delayed call per task.
    :param hooks: operator hooks (``operator_hooks.Hook``) to weave in.
    :param plans: {node key: {'action', 'physical_resource_id'}}, what each
        node is expected to do, for before hooks (see ``hook_tasks``); the
        execution's input must then carry ``hook_tasks.before_resources``
        of the same graph, hooks and plans.
    """
    if not len(graph):
        raise ValueError('a workflow needs at least one task')
    names = task_names(graph)
    chains = {}
    for node in graph:
        found = hook_tasks.chain(
            node, names[node.key], published_variable(node), hooks,
            (plans or {}).get(node.key), task_timeout=task_timeout,
            completes_stack=not graph.required_by(node.key))
        if found is not None:
            chains[node.key] = found

    def first(node):
        found = chains.get(node.key)
        return found.order[0] if found else names[node.key]

    tasks = {}
    for node in graph:
        requires = graph.requires(node.key)
        required_by = graph.required_by(node.key)
        hooked = chains.get(node.key)
        task = {
            'action': ACTION,
            'input': _action_input(node, requires, names),
            'tags': [NO_CONTEXT_TAG],
        }
        tasks[names[node.key]] = task
        if required_by or (hooked and hooked.after):
            task['publish'] = {
                published_variable(node): _TASK_RECEIPT}
        # A hooked node's chain: its first task waits for the
        # predecessors, its last one leads to the successors.
        head = last = task
        if hooked:
            tasks.update(hooked.tasks)
            head, last = tasks[hooked.order[0]], tasks[hooked.order[-1]]
            position = hooked.order.index(names[node.key])
            if position + 1 < len(hooked.order):
                task['on-success'] = [hooked.order[position + 1]]
            if hooked.after:
                task['publish'][hook_tasks.resource_variable(node)] = (
                    _TASK_HOOK_DATA)
        if required_by:
            last['on-success'] = [first(r) for r in required_by]
            tags = ['%s%s:%s' % (_KINDS_TAG, first(r),
                                 ','.join(graph.kinds(node.key, r.key)))
                    for r in required_by if graph.kinds(node.key, r.key)]
            if tags:
                last['tags'] = last.get('tags', []) + tags
        elif hooked and hooked.completes:
            last['on-success'] = [hooked.completes]
        if len(requires) > 1:
            head['join'] = 'all'
        if task_timeout and node_timeouts:
            task['timeout'] = int(task_timeout)
    workflow = {
        'type': 'direct',
        # Optional, so that the definition is valid for an execution
        # without operator hooks.
        'input': list(WORKFLOW_INPUT) + [{hook_tasks.RESOURCES_INPUT: {}}],
        # Without them Mistral makes the execution's output its final
        # context, with the receipts its end tasks received: over its
        # field size limit when those together exceed it, and Mistral
        # then refused to end the execution in ERROR when heat-engine
        # asked it to (seen with 1.5 MB of receipts).
        'output': dict(_OUTPUT),
        'output-on-error': dict(_OUTPUT),
        'tasks': tasks,
    }
    if description:
        workflow['description'] = description
    return {'version': '2.0', name: workflow}


def edges(tasks):
    """Read the edges back from a definition's ``tasks`` mapping.

    Returns [(task, successor task, [kinds])] in definition order; kinds
    are [] where the definition has none.
    """
    found = []
    for name, task in tasks.items():
        kinds = {}
        for tag in task.get('tags') or ():
            if tag.startswith(_KINDS_TAG):
                successor, _sep, words = tag[len(_KINDS_TAG):].partition(':')
                kinds[successor] = words.split(',')
        for successor in task.get('on-success') or ():
            found.append((name, successor, kinds.get(successor, [])))
    return found


# libyaml's emitter writes the same text as PyYAML's pure-Python one, 2-5
# times faster (0.25 s instead of 0.57 s for 1000 resources); PyYAML built
# without libyaml has only the latter.
_DUMPER = getattr(yaml, 'CSafeDumper', yaml.SafeDumper)


def to_yaml(definition, dumper=_DUMPER):
    """Serialise a definition for Mistral's API, keeping task order."""
    return yaml.dump(definition, Dumper=dumper, default_flow_style=False,
                     sort_keys=False)


def _action_input(node, requires, names):
    data = {protocol.data_key(r.resource_id, r.is_update):
            published.expression(names[r.key], published_variable(r))
            for r in requires}
    return {
        'stack_id': _CONTEXT_VALUE % 'stack_id',
        'traversal': _CONTEXT_VALUE % 'traversal',
        'token': _CONTEXT_VALUE % 'token',
        'resource_id': node.resource_id,
        'is_update': node.is_update,
        'data': data,
    }
