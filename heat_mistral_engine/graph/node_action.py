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

"""What makes a Mistral action execution a node's own (pure).

heat-engine completes an action execution for a node (``protocol.
COMPLETION_NODE``: stack, traversal, resource id, kind) only if Mistral
shows it as that node's: the ``heat.run_node`` action of a task (not an
ad-hoc run) of an execution of the stack's generated workflow
(``workflow.workflow_name``) in the traversal's namespace, with the node's
ids as its input. The Mistral engine applies this to what its database
holds (``mistral.patches.direct_completions``), heat-engine to what
Mistral's API shows (``heat.clients.mistral_api``); each adds the project.
"""

from heat_mistral_engine.graph import workflow
from heat_mistral_engine import protocol


def problem(node, action_name, task_execution_id, workflow_name,
            workflow_namespace, action_input):
    """Why the action execution described is not ``node``'s, or None.

    ``node`` maps ``protocol.COMPLETION_NODE`` to the node's values;
    ``workflow_name`` and ``workflow_namespace`` are those of the
    execution that runs the task, ``action_input`` the action's input (a
    dict, or anything else if Mistral holds none).
    """
    if action_name != workflow.ACTION:
        return 'it is an action execution of %s, not %s' % (
            protocol.short(action_name), workflow.ACTION)
    if not task_execution_id:
        return 'it was not run by a task of a workflow (an ad-hoc run)'
    expected = workflow.workflow_name(node['stack_id'])
    if (workflow_name, workflow_namespace or '') != (
            expected, node['traversal']):
        return ('its task belongs to workflow %s in namespace %s, not to '
                '%s in namespace %s' % (
                    protocol.short(workflow_name),
                    protocol.short(workflow_namespace), expected,
                    node['traversal']))
    found = action_input if isinstance(action_input, dict) else {}
    differs = sorted(key for key, value in node.items()
                     if found.get(key) != value or
                     type(found.get(key)) is not type(value))
    if differs:
        return 'its input names another node (%s differ)' % ', '.join(
            differs)
    return None
