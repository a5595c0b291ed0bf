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

"""The commands of ``heat-mistral-engine`` (cliff), entry points in setup.cfg.

cliff loads every command class to list it in ``--help``. These classes
hold only the arguments and the help text; the work lives in ``cli.graph``
and ``cli.orphans``, which import Heat (and with it eventlet, about three
seconds of imports) and are imported only when their command runs.

Help texts are plain text: argparse prints them as written, and the CLI
reference (``doc/source/cli.rst``, cliff.sphinxext) renders them as
reStructuredText paragraphs.
"""

import argparse

from cliff import command

GRAPH_FORMATS = ('json', 'dot', 'yaml')


class _Command(command.Command):
    """A command whose help prints its description's paragraphs as written."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return parser


class Graph(_Command):
    """Print the Mistral task graph of a template, offline.

    Parses the template with Heat's own parser (no database, no services)
    and prints what heat-engine would hand to Mistral for a new stack.
    The json format lists the tasks (name, type) and the edges (from, to,
    kinds); dot draws a Graphviz digraph, edges labelled with their kinds;
    yaml is the Mistral workflow definition that would be uploaded, with
    placeholder resource ids.

    With --action DELETE every edge is reversed, as a delete does. With
    --hooks FILE the operator hooks of a hooks file ([mistral_scheduler]
    operator_hooks_file) are added: json lists them under hooks, dot draws
    them as ellipses, yaml has their tasks.

    Exit status: 0, or 2 for a template or hooks file that cannot be used.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('template', help='HOT or CFN template file')
        parser.add_argument('-e', '--environment', action='append',
                            default=[], metavar='ENV',
                            help='environment file (repeatable)')
        parser.add_argument('-P', '--parameter', action='append', default=[],
                            metavar='KEY=VALUE',
                            help='parameter value (repeatable)')
        parser.add_argument('--action', choices=('CREATE', 'DELETE'),
                            default='CREATE',
                            help='the traversal to show (default: CREATE)')
        parser.add_argument('--format', choices=GRAPH_FORMATS,
                            default='json',
                            help='output format (default: json)')
        parser.add_argument('--hooks', metavar='FILE',
                            help='operator hooks file to show (as '
                                 '[mistral_scheduler] operator_hooks_file)')
        return parser

    def take_action(self, parsed_args):
        # Heat only now (see the module's docstring).
        from heat_mistral_engine.cli import graph
        return graph.run(parsed_args, out=self.app.stdout,
                         err=self.app.stderr)


class CheckOrphans(_Command):
    """Find (and repair) Mistral executions and Heat stacks that disagree.

    Reads heat.conf (Heat's database, the message bus for Heat's
    notifications and [mistral_scheduler] for Mistral) and lists the
    orphans: executions RUNNING for a stack that no longer waits for them,
    stacks IN_PROGRESS whose traversal has no RUNNING execution, and
    executions that stalled (no task changed for the grace period). With
    --repair it cancels the orphaned executions and marks the orphaned
    stacks FAILED. heat-engine
    runs the same check with repair every [mistral_scheduler]
    orphan_check_interval seconds; this command is for operators who want
    to see (or force) it now.

    Exit status: 0 when nothing is (left) wrong, 1 when orphans remain.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--config-file', action='append', default=[],
                            help='heat.conf (repeatable; default: Heat\'s '
                                 'search path)')
        parser.add_argument('--config-dir', action='append', default=[],
                            help='heat.conf.d directory (repeatable)')
        parser.add_argument('--repair', action='store_true',
                            help='cancel orphaned executions and mark '
                                 'orphaned stacks FAILED')
        parser.add_argument('--stack', action='append', default=None,
                            metavar='STACK_ID',
                            help='look only at this stack (repeatable)')
        parser.add_argument('--grace', type=int, default=None,
                            help='seconds a disagreement must last '
                                 '(default: [mistral_scheduler] '
                                 'orphan_grace_period)')
        return parser

    def take_action(self, parsed_args):
        # Heat only now (see the module's docstring).
        from heat_mistral_engine.cli import orphans
        return orphans.run(parsed_args, out=self.app.stdout)
