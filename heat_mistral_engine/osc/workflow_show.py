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
execution's tasks (see ``execution_link``). ``--dot`` prints the task
graph as Graphviz, nodes coloured by task state, edges labelled with their
kinds, nested stacks' executions hanging off their parent tasks.

The executions are the service project's: heat-api serves what the user
may see of them (``workflow_data``).
"""

from osc_lib.cli import format_columns
from osc_lib.command import command

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.osc import workflow_data

DOT_COLOURS = {'SUCCESS': 'palegreen', 'ERROR': 'salmon',
               'RUNNING': 'lightblue', 'WAITING': 'lightgrey',
               'IDLE': 'white', 'CANCELLED': 'khaki', 'PAUSED': 'khaki'}


def dot(edges, rows, title, nested=()):
    lines = ['digraph "%s" {' % title.replace('"', "'"), '  rankdir=LR;',
             '  node [shape=box, style=filled];']
    for row in rows:
        lines.append('  "%s" [label="%s\\n%s", fillcolor=%s];' % (
            row['task'], row['resource'], row['state'],
            DOT_COLOURS.get(row['state'], 'white')))
    for edge in edges:
        label = (' [label="%s"]' % ','.join(edge['kinds'])
                 if edge['kinds'] else '')
        lines.append('  "%s" -> "%s"%s;' % (edge['from'], edge['to'], label))
    for child in nested:
        lines.append('  "%s" [label="nested stack %s\\n%s", shape=folder, '
                     'fillcolor=%s];' % (
                         child['execution'], child['stack_id'],
                         child['state'],
                         DOT_COLOURS.get(child['state'], 'white')))
        lines.append('  "%s" -> "%s" [style=dashed, label="nested"];'
                     % (child['task'], child['execution']))
    lines.append('}')
    return '\n'.join(lines) + '\n'


class ShowStackWorkflow(command.ShowOne):
    """Show the Mistral workflow and tasks that ordered a stack's action."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('stack', metavar='<stack>',
                            help='Name or ID of the stack')
        parser.add_argument('--dot', action='store_true',
                            help='Print the task graph in Graphviz dot, '
                                 'coloured by task state')
        return parser

    def take_action(self, parsed_args):
        heat = self.app.client_manager.orchestration
        stack = heat.stacks.get(parsed_args.stack, resolve_outputs=False)
        name = workflow.workflow_name(stack.id)
        view = workflow_data.fetch(self.app.client_manager, stack)
        execution = view['execution']
        if execution is None:
            raise RuntimeError(
                'Stack %s (%s) has no Mistral execution: it was ordered by '
                'Heat itself (the scheduler was off, or the action is one '
                'Mistral does not order).' % (stack.stack_name, stack.id))
        rows, nested = view['tasks'], view['nested']
        if parsed_args.dot:
            self.app.stdout.write(dot(view['edges'], rows, '%s %s' % (
                stack.stack_name, execution['id']), nested))
            return (), ()
        columns = ('stack_id', 'stack_name', 'stack_status', 'workflow',
                   'execution', 'execution_state', 'traversal', 'tasks',
                   'edges', 'parent', 'nested')
        data = (stack.id, stack.stack_name, stack.stack_status, name,
                execution['id'], execution['state'], execution['traversal'],
                format_columns.ListDictColumn(rows),
                format_columns.ListDictColumn(view['edges']),
                format_columns.DictColumn(view['parent'] or {}),
                format_columns.ListDictColumn(nested))
        return columns, data
