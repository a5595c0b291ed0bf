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

"""The ``heat-mistral-engine`` command: a cliff application.

Its commands are the ``heat_mistral_engine.cli`` entry points of
setup.cfg (``cli.commands``), loaded by cliff only when run or listed.
``--help``, ``--version`` and ``help COMMAND`` import neither Heat nor
eventlet; the commands that parse templates or read Heat's database import
Heat when they run, and this application keeps eventlet's deprecation
warning, meant for projects that run eventlet, out of their output.
"""

import sys
import warnings

from cliff import app
from cliff import commandmanager
import pbr.version

PROG = 'heat-mistral-engine'
NAMESPACE = 'heat_mistral_engine.cli'
# The start of the message eventlet warns with when it is imported
# (eventlet.EventletDeprecationWarning; eventlet itself cannot be imported
# to name the class without printing it).
EVENTLET_WARNING = r'\s*Eventlet is deprecated'


def version():
    """The installed package's version, as pbr gives it."""
    return pbr.version.VersionInfo(PROG).release_string()


class HeatMistralEngine(app.App):
    """heat-mistral-engine's commands: offline graphs, orphan checks."""

    NAME = PROG
    # -v shows INFO and -vv DEBUG. Heat's plugin loading logs at INFO
    # whenever a template is parsed: by default only warnings and errors.
    DEFAULT_VERBOSE_LEVEL = 0

    def __init__(self):
        super().__init__(
            description='Tools of heat-mistral-engine, the Heat plugin that '
                        'hands the order of a stack\'s resource actions to '
                        'Mistral.',
            version=version(),
            command_manager=commandmanager.CommandManager(NAMESPACE),
            # ``heat-mistral-engine graph --help`` is ``help graph``.
            deferred_help=True)

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        kwargs = dict(argparse_kwargs or {}, prog=PROG,
                      conflict_handler='resolve')
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs=kwargs)
        # cliff names the program after sys.argv[0] (``main.py`` when run
        # as ``python -m``): the version line names the package instead.
        parser.add_argument('--version', action='version',
                            version='%s %s' % (PROG, version))
        return parser

    def interact(self):
        """No interactive shell: a command is required."""
        self.parser.print_usage(self.stderr)
        self.stderr.write('%s: a command is required (see %s --help)\n'
                          % (PROG, PROG))


def main(argv=None):
    warnings.filterwarnings('ignore', message=EVENTLET_WARNING)
    return HeatMistralEngine().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
