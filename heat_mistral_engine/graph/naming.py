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

"""Mistral task names of a stack's workflow (pure, see ``workflow``).

Resource names are the template author's text: any Unicode but ``/``, up
to 255 characters (Heat's ``resources.name`` column). Task names must be
unique within the workflow, safe in Mistral's transitions (``on-success``
lists, ``task("...")`` in expressions) and short enough for Mistral: a
task with ``join`` takes the named lock ``join-task-<execution id>-<task>``
in a 255-character column, so Mistral refuses join task names longer than
208 characters (``MAX_LENGTH_JOIN_TASK_NAME``; 255 for other tasks and for
``task_executions_v2.name``). Which task gets ``join`` depends on the
graph and on the hooks, so every name keeps to 208.

The rule. A text is *plain* within a limit when it is at most that long,
is words of ``[A-Za-z0-9-]`` joined by single ``_``, starts with a letter
or digit, and does not end in ``_`` and digits
(``^[A-Za-z0-9][A-Za-z0-9-]*(_[A-Za-z0-9-]+)*$`` minus ``_[0-9]+$``).
A resource name is used as it is when it is plain within ``PLAIN_MAX``,
does not end in ``_cleanup``, is not one of Mistral's engine commands
(``fail``, ``succeed``, ``pause``, ``noop``) and no other node of the same
kind (create/update or cleanup) in the graph has it.

* A node task is ``<base>`` for a create/update node and
  ``<base>_cleanup`` for a cleanup node, where ``<base>`` is the resource
  name when it is used as it is, and otherwise ``<sanitised>_<resource
  id>``: the name with every run of characters outside ``[A-Za-z0-9-]``
  (``_`` included) replaced by one ``_``, cut so that the whole stays
  within ``NODE_MAX``, without ``_`` at either end (``resource`` if
  nothing is left).
* A hook task is ``<node task>__before__<hook>`` or
  ``<node task>__after__<hook>``; its failure report task appends
  ``__failed``; a node's ``hooks_done`` task is
  ``<node task>__hooks_done``. ``<hook>`` is the hook's name if plain
  (within ``HOOK_MAX``), else ``<sanitised>_<position of the entry in the
  hooks file>``.

Why names are unique. Read a node task from the right: it ends in
``_cleanup`` exactly when it is a cleanup task (a plain name does not end
so, ``<sanitised>_<id>`` ends in digits). What is left ends in ``_`` and
digits exactly when it is generated, and then the digits are the resource
id, which with the kind is the node's key. Otherwise it is a plain name,
which only one node of that kind has. Node tasks never contain ``__``
(plain names have single ``_``, sanitising collapses runs, the suffixes add
one ``_``), so a hook task splits at its first ``__`` into its node task
and the rest; the rest's parts between ``__`` are ``before``/``after``,
the hook part (no ``__`` either) and ``failed``, or ``hooks_done``. Two
hooks of one node and moment have different names (the hooks file refuses
a repeat), hence different hook parts by the argument above with the
entry's position for the id. Lengths: ``NODE_MAX`` (128) + ``__before__``
+ ``HOOK_MAX`` (48) + ``__failed`` = 194 <= 208.

``read_node_task`` applies that argument backwards: from a task name it
tells the node (resource id, or the plain name, and kind), which is how a
Mistral task that failed is named to the user.

No character of a generated name can start an expression (``{{``, ``<%``,
``{%``), so a task name never carries template text into Mistral.
"""

import collections
import dataclasses
import re

# Mistral's limit for a task with ``join`` (see the module docstring).
MAX_TASK_NAME = 208
NODE_MAX = 128
HOOK_MAX = 48
CLEANUP_SUFFIX = '_cleanup'
PLAIN_MAX = NODE_MAX - len(CLEANUP_SUFFIX)
# Mistral's engine commands, which a transition would run instead.
RESERVED = frozenset(('fail', 'succeed', 'pause', 'noop'))
SAFE = re.compile(r'[A-Za-z0-9_-]+\Z')

_PLAIN = re.compile(r'[A-Za-z0-9][A-Za-z0-9-]*(?:_[A-Za-z0-9-]+)*\Z')
_LAST_WORD_DIGITS = re.compile(r'_[0-9]+\Z')
_NUMBERED = re.compile(r'.*_([0-9]+)\Z')
_OTHER = re.compile(r'[^A-Za-z0-9-]+')
_BEFORE, _AFTER = '__before__', '__after__'
_FAILED = '__failed'
_HOOKS_DONE = '__hooks_done'


def node_tasks(nodes):
    """{node key: task name} for Nodes (``model.Node``), by the rule."""
    nodes = list(nodes)
    kinds = collections.Counter((n.resource_name, n.is_update)
                                for n in nodes)
    names = {}
    for node in nodes:
        name = node.resource_name
        if (kinds[(name, node.is_update)] > 1 or name in RESERVED or
                name.endswith(CLEANUP_SUFFIX) or not plain(name, PLAIN_MAX)):
            name = numbered(name, node.resource_id, PLAIN_MAX, 'resource')
        names[node.key] = name if node.is_update else name + CLEANUP_SUFFIX
    return names


@dataclasses.dataclass(frozen=True)
class NodeTask:
    """What a node task's name says of its node (``read_node_task``).

    ``resource_id`` for a generated name, ``resource_name`` for a plain one
    (the other is None); ``is_update`` False for a cleanup node.
    """

    is_update: bool
    resource_id: int = None
    resource_name: str = None


def read_node_task(task):
    """The ``NodeTask`` a node task name stands for, or None.

    None for a hook task, a report task, a ``hooks_done`` task (any name
    with ``__``) and for a name no node task can have. The inverse of
    ``node_tasks``, by the argument in the module docstring.
    """
    if not isinstance(task, str) or '__' in task or not SAFE.match(task):
        return None
    is_update = not task.endswith(CLEANUP_SUFFIX)
    base = task if is_update else task[:-len(CLEANUP_SUFFIX)]
    found = _NUMBERED.match(base)
    if found:
        return NodeTask(is_update, resource_id=int(found.group(1)))
    if not plain(base, PLAIN_MAX) or base in RESERVED:
        return None
    return NodeTask(is_update, resource_name=base)


def hook_task(node_task, hook):
    """The task running ``hook`` (an ``operator_hooks.Hook``) for a node."""
    return '%s%s%s' % (node_task, _BEFORE if hook.when == 'before'
                       else _AFTER, hook_part(hook))


def failure_task(hook_task_name):
    """The task that reports a failed hook task to heat-engine."""
    return hook_task_name + _FAILED


def is_failure_task(task):
    """True if ``task`` names a task that reports a failed hook task."""
    return isinstance(task, str) and task.endswith(_FAILED)


def hooks_done_task(node_task):
    """The task that hands a node's receipt over after its after hooks."""
    return node_task + _HOOKS_DONE


def hook_part(hook):
    """How a hook appears in its tasks' names."""
    if plain(hook.name, HOOK_MAX):
        return hook.name
    return numbered(hook.name, hook.position, HOOK_MAX, 'hook')


def plain(text, limit):
    """True if ``text`` is used as it is where a name allows (see above)."""
    return bool(len(text) <= limit and _PLAIN.match(text) and
                not _LAST_WORD_DIGITS.search(text))


def numbered(text, number, limit, fallback):
    """``<sanitised text>_<number>``, at most ``limit`` characters."""
    suffix = '_%d' % number
    base = _OTHER.sub('_', text)[:limit - len(suffix)].strip('_')
    return (base or fallback) + suffix
