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

"""``openstack stack workflow show STACK -f dot``: the task graph in Graphviz.

A cliff formatter, as python-heatclient's ``openstack stack resource list
-f dot``: it draws what ``workflow_show`` returns, nothing else is printed.
Tasks are boxes coloured by state and labelled with their resource,
edges are labelled with their kinds (cleanup edges have none), and the
executions of nested stacks hang off the tasks that ran them (dashed).
"""

from cliff.formatters import base

DOT_COLOURS = {'SUCCESS': 'palegreen', 'ERROR': 'salmon',
               'RUNNING': 'lightblue', 'WAITING': 'lightgrey',
               'IDLE': 'white', 'CANCELLED': 'khaki', 'PAUSED': 'khaki'}


def dot(edges, rows, title, nested=()):
    """The digraph of task ``rows``, ``edges`` and ``nested`` executions.

    ``rows``, ``edges`` and ``nested`` are the ``tasks``, ``edges`` and
    ``nested`` of ``workflow show`` (lists of dicts).
    """
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


def _raw(value):
    """A column's data (osc-lib's formattable columns wrap it)."""
    readable = getattr(value, 'machine_readable', None)
    return readable() if readable else value


class DotFormatter(base.SingleFormatter):
    """The ``dot`` output format of ``openstack stack workflow show``."""

    def add_argument_group(self, parser):
        pass

    def emit_one(self, column_names, data, stdout, parsed_args):
        shown = {name: _raw(value) for name, value in zip(column_names, data)}
        title = ' '.join(str(shown[key]) for key in ('stack_name', 'execution')
                         if shown.get(key))
        stdout.write(dot(shown.get('edges') or [], shown.get('tasks') or [],
                         title, shown.get('nested') or []))
