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

"""What heat-api shows a user of a stack's workflow (see ``workflow_view``).

``build`` reads, as the service account through ``MistralService``, the
executions of one stack, identified by the id of a stack the caller was
allowed to see: only the service project's executions of the generated
workflow ``heat_stack_<stack id>`` whose input names that stack. A
workflow another project named like it, which Mistral lists to an admin,
is never taken; neither is a name the user chose. What it returns holds
only the rows ``rows`` lets a user read.
"""

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.api import rows


def build(service, stack_id, stack_action, visible):
    """The workflow view of the stack ``stack_id``, as a JSON-ready dict.

    :param service: a ``MistralService``.
    :param stack_action: the stack's current action (CREATE, UPDATE...),
        to pick the execution of the latest action.
    :param visible: ``visible(stack_id)`` is True when the caller may see
        that stack; nested and parent stacks the caller may not see are
        left out (Heat's own rules, applied by the caller).

    Keys: ``workflow`` (the generated workflow's name), ``execution``
    (id, state, created_at, updated_at, traversal; None when Mistral
    ordered no action of the stack), ``tasks``, ``edges``, ``parent`` (a
    dict or None) and ``nested`` (a list).
    """
    name = workflow.workflow_name(stack_id)
    view = {'workflow': name, 'execution': None, 'tasks': [], 'edges': [],
            'parent': None, 'nested': []}
    executions = [e for e in service.executions_of(name)
                  if e.input.get('stack_id') == stack_id]
    execution = rows.choose_execution(executions, stack_action)
    if execution is None:
        return view
    view['execution'] = {
        'id': execution.id, 'state': execution.state,
        'created_at': execution.created_at,
        'updated_at': execution.updated_at,
        'traversal': execution.input.get('traversal')}
    # Each traversal runs a definition of its own (a namespace per
    # traversal): the execution's, not whatever is called ``name``.
    spec = rows.spec_tasks(service.own_definition(execution.workflow_id),
                           name)
    tasks = service.tasks_of(execution.id)
    if spec is None:
        view['tasks'] = rows.bare_task_rows(tasks)
    else:
        view['tasks'] = rows.task_rows(spec, tasks)
        view['edges'] = rows.edge_rows(spec)
    parent = rows.parent_row(execution)
    if parent and visible(parent.get('stack_id')):
        view['parent'] = parent
    # Nested stacks' executions carry the top execution of their tree as
    # Mistral's root_execution_id: one call finds them all.
    tree = service.executions_in_tree(
        getattr(execution, 'root_execution_id', None) or execution.id)
    view['nested'] = [row for row in rows.nested_rows(execution.id, tree)
                      if visible(row['stack_id'])]
    return view
