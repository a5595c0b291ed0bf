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


"""The ``openstack`` orchestration commands, run in this process.

A scenario acts as a user of ``openstack stack ...`` would. A new
``openstack`` process spends seconds importing its plugins before it sends
a request, and tens of seconds on a loaded 2-core machine: a step meant to
act while a resource is mid-action (cancel, delete, a second update) could
reach Heat after that action had ended, so the same scenario flapped with
the load (issue 23). ``run`` runs the command class that ``openstack``
itself would run (python-heatclient's ``openstack.orchestration.v1`` entry
points), with the cloud's heatclient, and returns what ``openstack ...
-f json`` prints: the same requests, the same client-side checks (such as
``stack cancel``'s "not in cancelable state") and the same output, within
milliseconds of the call.

Contract: ``run(heat, args)`` takes the words after ``openstack`` and
returns the text the command printed to its output (with ``-f json``, the
JSON ``openstack`` would print). It raises ``CommandFailed`` (a message,
no traceback) where ``openstack`` would exit non-zero. Safe in several
threads at once: each call has its own command object, parser and output
buffer.
"""

import functools
import importlib.metadata
import io
import types

GROUP = 'openstack.orchestration.v1'
# Command names have at most four words (stack resource signal, ...).
MAX_WORDS = 4


class CommandFailed(Exception):
    """``openstack`` would have exited non-zero; str() says why."""


@functools.lru_cache(maxsize=None)
def _commands():
    return {ep.name: ep for ep in importlib.metadata.entry_points(
        group=GROUP)}


def find(args):
    """(entry point, its words, the remaining args) for ``args``.

    The longest run of leading words that names a command, as
    ``openstack`` matches them.
    """
    commands = _commands()
    for count in range(min(MAX_WORDS, len(args)), 0, -1):
        name = '_'.join(args[:count])
        if name in commands:
            return commands[name], args[:count], args[count:]
    raise CommandFailed('openstack: unknown command %s' % ' '.join(args))


def run(heat, args):
    """Run ``openstack ARGS`` against heatclient ``heat``; see the module."""
    args = [str(a) for a in args]
    entry_point, words, rest = find(args)
    out = io.StringIO()
    app = types.SimpleNamespace(
        client_manager=types.SimpleNamespace(orchestration=heat),
        stdout=out, stdin=io.StringIO(), stderr=io.StringIO(),
        options=types.SimpleNamespace())
    command = entry_point.load()(app, None)
    parser = command.get_parser('openstack ' + ' '.join(words))
    try:
        parsed = parser.parse_args(rest)
    except SystemExit:
        # argparse has printed the usage error to stderr.
        raise CommandFailed('openstack %s: bad arguments' % ' '.join(args))
    try:
        status = command.run(parsed)
    except Exception as exc:
        # What openstack prints for it, not a traceback.
        raise CommandFailed('openstack %s: %s: %s' % (
            ' '.join(args), type(exc).__name__, exc))
    if status:
        raise CommandFailed('openstack %s: exit %s: %s' % (
            ' '.join(args), status, out.getvalue()))
    return out.getvalue()
