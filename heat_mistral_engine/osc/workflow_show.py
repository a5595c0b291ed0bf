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

"""``openstack stack workflow show STACK``: the Mistral side of a stack.

An openstackclient command (registered in heatclient's
``openstack.orchestration.v1`` group) for users and operators: which
workflow and execution ordered the stack's latest action, and each task's
resource, state and timing, and the edges between tasks with their kinds
(get_attr, hosted_on...; cleanup edges have none). The task of an
``OS::Mistral::Hook`` also shows, under ``hook``, the user's workflow it
ran and that execution's id and state. Operator hook tasks show as
``hook before|after: NAME`` of their resource, with the output their
workflow published (``output``). For a nested stack's execution,
``parent`` names the parent stack's execution and task it runs under;
``nested`` lists the executions of nested stacks that ran under this
execution's tasks (see ``execution_link``). ``-f dot`` prints the task
graph as Graphviz instead (``workflow_dot``). Every failure is an
``osc_lib.exceptions.CommandError`` that says what could not be found or
read.
"""

import json

from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from mistralclient.api import base as mistral_base
from osc_lib.cli import format_columns
from osc_lib.command import command
from osc_lib import exceptions
import yaml

from heat_mistral_engine import execution_link
from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import workflow

NOT_STARTED = 'NOT STARTED'
HOOK_TYPE = 'OS::Mistral::Hook'


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


def task_rows(definition_yaml, workflow_name, tasks):
    """One dict per task of the definition, in definition order.

    Tasks that Mistral has not created yet appear as NOT STARTED.
    """
    spec = yaml.safe_load(definition_yaml)[workflow_name]['tasks']
    by_name = {t.name: t for t in tasks}
    rows = []
    for name, task_spec in spec.items():
        task = by_name.get(name)
        row = {
            'task': name,
            'resource': resource_label(name, task_spec),
            'action': ('create/update' if task_spec['input'].get('is_update')
                       else 'cleanup'),
            'state': task.state if task else NOT_STARTED,
            'started_at': getattr(task, 'started_at', None),
            'finished_at': getattr(task, 'finished_at', None),
            'state_info': getattr(task, 'state_info', None),
        }
        _hook_columns(row, name, task_spec, spec, task)
        rows.append(row)
    return rows


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


def hook_details(heat, mistral, stack_id):
    """{resource name: {workflow, execution, state}} for the stack's hooks.

    Read from each hook's ``execution_id`` attribute and that execution in
    Mistral (visible to the stack's own project, which ran it).
    """
    details = {}
    for rsrc in heat.resources.list(stack_id):
        if rsrc.resource_type != HOOK_TYPE:
            continue
        shown = heat.resources.get(stack_id, rsrc.resource_name)
        execution_id = (shown.attributes or {}).get('execution_id')
        found = {'workflow': None, 'execution': execution_id,
                 'state': NOT_STARTED}
        if execution_id:
            execution = mistral.executions.get(execution_id)
            found.update(workflow=execution.workflow_name,
                         state=execution.state)
        details[rsrc.resource_name] = found
    return details


def add_hooks(rows, details):
    """Put each hook's details on its resource's own task rows.

    Operator hook tasks around that resource keep only their own columns.
    """
    for row in rows:
        if (row['resource'] in details
                and not row['action'].startswith('hook ')):
            row['hook'] = details[row['resource']]
    return rows


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
            published = json.loads(published or '{}')
        row['output'] = (published or {}).get('hook_%s' % name)
    elif hook_tasks.is_report(task_spec):
        row['action'] = 'hook report'


def edge_rows(spec_tasks):
    """One dict per edge: {"from": task, "to": task, "kinds": [...]}."""
    return [{'from': first, 'to': then, 'kinds': kinds}
            for first, then, kinds in workflow.edges(spec_tasks)]


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


class ShowStackWorkflow(command.ShowOne):
    """Show the Mistral workflow and tasks that ordered a stack's action."""

    # As heatclient's `stack resource list`: cliff's formatters and dot.
    @property
    def formatter_namespace(self):
        return 'heat_mistral_engine.workflow.formatter.show'

    @property
    def formatter_default(self):
        return 'table'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('stack', metavar='<stack>',
                            help='Name or ID of the stack')
        parser.add_argument('--dot', action='store_const', const='dot',
                            dest='formatter',
                            help='Same as -f dot: the task graph in '
                                 'Graphviz, coloured by task state')
        return parser

    def take_action(self, parsed_args):
        heat = self.app.client_manager.orchestration
        stack = _stack(heat, parsed_args.stack)
        try:
            return self._show(heat, _mistral(self.app.client_manager),
                              stack)
        except mistral_base.APIException as exc:
            raise exceptions.CommandError(
                'Mistral could not show the workflow of stack %s (%s): %s'
                % (stack.stack_name, stack.id, exc))
        except heat_exc.HTTPException as exc:
            raise exceptions.CommandError(
                'Heat could not list the resources of stack %s (%s): %s'
                % (stack.stack_name, stack.id, exc))
        except ks_exc.ConnectionError as exc:
            raise exceptions.CommandError(
                'Could not reach Mistral or Heat for stack %s (%s): %s'
                % (stack.stack_name, stack.id, exc))

    @staticmethod
    def _show(heat, mistral, stack):
        name = workflow.workflow_name(stack.id)
        executions = mistral.executions.list(workflow_name=name, limit=-1)
        action = (stack.stack_status or '').split('_', 1)[0]
        execution = choose_execution(executions, action)
        if execution is None:
            raise exceptions.CommandError(
                'Stack %s (%s) has no Mistral execution: it was ordered by '
                'Heat itself (the scheduler was off, or the action is one '
                'Mistral does not order).' % (stack.stack_name, stack.id))
        # Each traversal runs a definition of its own (a namespace per
        # traversal): the execution's, not whatever is called ``name``.
        definition = mistral.workflows.get(execution.workflow_id).definition
        spec = _spec(definition, name, execution)
        tasks = mistral.tasks.list(workflow_execution_id=execution.id,
                                   limit=-1)
        rows = add_hooks(task_rows(definition, name, tasks),
                         hook_details(heat, mistral, stack.id))
        # Nested stacks' executions carry the top execution of their tree
        # as Mistral's root_execution_id: one call finds them all.
        tree = mistral.executions.list(
            root_execution_id=(getattr(execution, 'root_execution_id', None)
                               or execution.id), limit=-1)
        nested = nested_rows(execution.id, tree)
        inputs = execution.input
        if isinstance(inputs, str):
            inputs = json.loads(inputs)
        columns = ('stack_id', 'stack_name', 'stack_status', 'workflow',
                   'execution', 'execution_state', 'traversal', 'tasks',
                   'edges', 'parent', 'nested')
        data = (stack.id, stack.stack_name, stack.stack_status, name,
                execution.id, execution.state,
                (inputs or {}).get('traversal'),
                format_columns.ListDictColumn(rows),
                format_columns.ListDictColumn(edge_rows(spec)),
                format_columns.DictColumn(parent_row(execution) or {}),
                format_columns.ListDictColumn(nested))
        return columns, data


def _stack(heat, name_or_id):
    try:
        return heat.stacks.get(name_or_id, resolve_outputs=False)
    except heat_exc.HTTPNotFound:
        raise exceptions.CommandError('Stack not found: %s' % name_or_id)
    except (heat_exc.HTTPException, ks_exc.ConnectionError) as exc:
        raise exceptions.CommandError(
            'Heat could not show stack %s: %s' % (name_or_id, exc))


def _mistral(client_manager):
    """Mistral's client, made on first use from the catalog."""
    try:
        return client_manager.workflow_engine
    except AttributeError:
        raise exceptions.CommandError(
            'No Mistral client: install python-mistralclient, whose '
            'openstackclient plugin provides it')
    except ks_exc.EndpointNotFound as exc:
        raise exceptions.CommandError(
            'Mistral (service type workflowv2) is not in the service '
            'catalog: %s' % exc)


def _spec(definition, name, execution):
    """The task specs of the workflow ``name`` in an execution's definition."""
    try:
        return yaml.safe_load(definition)[name]['tasks']
    except (yaml.YAMLError, KeyError, TypeError):
        raise exceptions.CommandError(
            'Execution %s runs workflow %s, whose definition is not one '
            'heat-mistral-engine generated' % (execution.id, name))
