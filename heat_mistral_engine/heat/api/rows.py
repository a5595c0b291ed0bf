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

"""A stack's execution as rows a user may see (pure: no services).

From the generated definition (``graph.workflow``) and what Mistral's API
returns about the execution, its tasks and the executions of its tree,
these functions make the rows of ``openstack stack workflow show``: one
per task (resource, action, state, timing, failure reason; operator hook
tasks labelled, with their output), one per edge with its kinds, the
parent task of a nested stack's execution and the executions of nested
stacks.

Only what a stack's owner may read leaves here. No task input, result or
published receipt, no execution input but the traversal id, and of a
task's ``state_info`` only the reason heat-engine completed it with
(``{'reason': ...}``, the same text the resource's status reason shows);
any other ``state_info`` is Mistral's own message, which can carry a
traceback or the data an expression was evaluated with (workflow input
included, hence the sealed traversal token), and is replaced by a pointer
an operator can follow. The one published value shown is an operator
hook's output (``hook_<task>``), which the operator guide documents as
shown to the stack's user.
"""

import ast
import json

import yaml

from heat_mistral_engine import execution_link
from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import workflow

NOT_STARTED = 'NOT STARTED'
# Longest failure reason shown; longer ones are cut (Heat's own status
# reasons are short, Mistral's state_info column holds 64 KiB).
MAX_REASON = 4096
# state_info texts longer than this are not parsed for a reason at all.
MAX_STATE_INFO = 65536


def choose_execution(executions, stack_action):
    """The execution of the stack's latest action, or None.

    Prefers executions whose description names ``stack_action`` (a
    rollback and the create it undoes can start in the same second, and
    Mistral's created_at has one-second resolution), then the newest.
    """
    def action_of(execution):
        words = (execution.description or '').split(') ', 1)
        return words[1].split(',', 1)[0] if len(words) == 2 else None

    ranked = sorted(executions, key=lambda e: (
        action_of(e) == stack_action, e.created_at or ''))
    return ranked[-1] if ranked else None


def spec_tasks(definition_yaml, workflow_name):
    """The ``tasks`` of ``workflow_name`` in a definition, or None.

    None for a definition that is missing or not shaped as the compiler
    makes it.
    """
    try:
        spec = yaml.safe_load(definition_yaml or '')
        tasks = spec[workflow_name]['tasks']
    except (yaml.YAMLError, KeyError, TypeError):
        return None
    return tasks if isinstance(tasks, dict) else None


def task_rows(spec, tasks):
    """One dict per task of the definition's ``spec``, in definition order.

    Tasks that Mistral has not created yet appear as NOT STARTED.
    """
    by_name = {t.name: t for t in tasks}
    rows = []
    for name, task_spec in spec.items():
        task = by_name.get(name)
        row = {
            'task': name,
            'resource': resource_label(name, task_spec),
            'action': ('create/update'
                       if (task_spec.get('input') or {}).get('is_update')
                       else 'cleanup'),
            'state': task.state if task else NOT_STARTED,
            'started_at': getattr(task, 'started_at', None),
            'finished_at': getattr(task, 'finished_at', None),
            'state_info': state_reason(task),
        }
        _hook_columns(row, name, task_spec, spec, task)
        rows.append(row)
    return rows


def bare_task_rows(tasks):
    """Rows of Mistral's tasks alone, when the definition is gone.

    Only the task's name, state, timing and reason: without the
    definition, resources and actions are unknown.
    """
    return [{'task': t.name, 'resource': None, 'action': None,
             'state': t.state,
             'started_at': getattr(t, 'started_at', None),
             'finished_at': getattr(t, 'finished_at', None),
             'state_info': state_reason(t)}
            for t in sorted(tasks, key=lambda t: (
                getattr(t, 'created_at', None) or '', t.name))]


def state_reason(task):
    """The part of a task's ``state_info`` a stack's owner may read.

    Mistral writes ``str(result)`` of the failed action: for the
    package's actions, ``{'reason': <heat-engine's message>}``, which is
    returned (cut at MAX_REASON). Anything else is Mistral's own text (see
    the module's docstring) and is replaced by a pointer to the task
    execution.
    """
    text = getattr(task, 'state_info', None)
    if not text:
        return None
    reason = None
    if isinstance(text, str) and len(text) <= MAX_STATE_INFO:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError,
                RecursionError):
            value = None
        if isinstance(value, dict) and set(value) == {'reason'}:
            reason = value['reason']
    if isinstance(reason, str):
        return reason if len(reason) <= MAX_REASON else (
            reason[:MAX_REASON] + '...')
    return ('Mistral\'s own message, not shown: it may hold workflow data '
            '(an operator can read it in task execution %s)'
            % getattr(task, 'id', '?'))


def resource_label(node_task, task_spec):
    """How a row names the resource of a node's task.

    Tasks carry the resource id, not its name (template text, see
    ``graph.workflow``): the label is the task's name without the
    ``_cleanup`` of cleanup tasks, which is the resource's name for plain
    names and ``<sanitised name>_<resource id>`` for others (see
    ``graph.naming``). A definition compiled before that still gives the
    name in the task's input.
    """
    task_input = task_spec.get('input') or {}
    if task_input.get('resource_name'):
        return task_input['resource_name']
    if (task_input.get('is_update') is False and
            node_task.endswith(naming.CLEANUP_SUFFIX)):
        return node_task[:-len(naming.CLEANUP_SUFFIX)]
    return node_task


def _hook_columns(row, name, task_spec, spec, task):
    """Label operator hook and report tasks (see graph.hook_tasks)."""
    hook = hook_tasks.hook_of(task_spec)
    if hook is not None:
        when, node_task, hook_name = hook
        row['resource'] = resource_label(node_task,
                                         spec.get(node_task, {}))
        row['action'] = 'hook %s: %s' % (when, hook_name)
        published = getattr(task, 'published', None)
        if isinstance(published, str):
            try:
                published = json.loads(published or '{}')
            except ValueError:
                published = None
        if not isinstance(published, dict):
            published = {}
        row['output'] = published.get('hook_%s' % name)
    elif hook_tasks.is_report(task_spec):
        row['action'] = 'hook report'


def edge_rows(spec):
    """One dict per edge: {"from": task, "to": task, "kinds": [...]}."""
    return [{'from': first, 'to': then, 'kinds': kinds}
            for first, then, kinds in workflow.edges(spec)]


def parent_row(execution):
    """The parent task a nested stack's execution runs under, or None."""
    return execution_link.parent_of(getattr(execution, 'params', None))


def nested_rows(execution_id, executions):
    """One dict per execution nested in ``execution_id``, oldest first.

    ``executions`` are candidates (those of the execution's tree); each
    row names the parent task, the child stack and its execution.
    """
    rows = []
    for child, link in execution_link.children(execution_id, executions):
        inputs = child.input
        if isinstance(inputs, str):
            inputs = json.loads(inputs)
        rows.append({'task': link.get('task'),
                     'task_execution_id': link.get('task_execution_id'),
                     'resource': link.get('resource'),
                     'stack_id': (inputs or {}).get('stack_id'),
                     'execution': child.id, 'state': child.state,
                     'created_at': child.created_at,
                     'updated_at': child.updated_at})
    return rows
