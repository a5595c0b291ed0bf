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

The executions are the service project's: heat-api serves what the user
may see of them (``workflow_data``).
"""

from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ks_exc
from mistralclient.api import base as mistral_base
from osc_lib.cli import format_columns
from osc_lib.command import command
from osc_lib import exceptions

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.osc import workflow_data


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
            view = workflow_data.fetch(self.app.client_manager, stack)
        except heat_exc.HTTPException as exc:
            raise exceptions.CommandError(
                'Heat could not show the workflow of stack %s (%s): %s'
                % (stack.stack_name, stack.id, exc))
        except mistral_base.APIException as exc:
            raise exceptions.CommandError(
                'Mistral could not show the hook executions of stack %s '
                '(%s): %s' % (stack.stack_name, stack.id, exc))
        except ks_exc.EndpointNotFound as exc:
            raise exceptions.CommandError(
                'Mistral (service type workflowv2), which runs the hooks of '
                'stack %s, is not in the service catalog: %s'
                % (stack.stack_name, exc))
        except ks_exc.ConnectionError as exc:
            raise exceptions.CommandError(
                'Could not reach Heat or Mistral for stack %s (%s): %s'
                % (stack.stack_name, stack.id, exc))
        execution = view['execution']
        if execution is None:
            raise exceptions.CommandError(
                'Stack %s (%s) has no Mistral execution: it was ordered by '
                'Heat itself (the scheduler was off, or the action is one '
                'Mistral does not order).' % (stack.stack_name, stack.id))
        columns = ('stack_id', 'stack_name', 'stack_status', 'workflow',
                   'execution', 'execution_state', 'traversal', 'tasks',
                   'edges', 'parent', 'nested')
        data = (stack.id, stack.stack_name, stack.stack_status,
                workflow.workflow_name(stack.id), execution['id'],
                execution['state'], execution['traversal'],
                format_columns.ListDictColumn(view['tasks']),
                format_columns.ListDictColumn(view['edges']),
                format_columns.DictColumn(view['parent'] or {}),
                format_columns.ListDictColumn(view['nested']))
        return columns, data


def _stack(heat, name_or_id):
    try:
        return heat.stacks.get(name_or_id, resolve_outputs=False)
    except heat_exc.HTTPNotFound:
        raise exceptions.CommandError('Stack not found: %s' % name_or_id)
    except (heat_exc.HTTPException, ks_exc.ConnectionError) as exc:
        raise exceptions.CommandError(
            'Heat could not show stack %s: %s' % (name_or_id, exc))
