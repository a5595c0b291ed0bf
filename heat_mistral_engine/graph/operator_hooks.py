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

"""Operator hooks: workflows run before or after resource actions.

Pure: parses the hooks file that heat.conf ``[mistral_scheduler]
operator_hooks_file`` names, and says which hooks apply to a resource. No
Heat, no Mistral; heat-engine reads the file (``heat.operator_hooks``), the
workflow compiler turns the hooks into tasks (``graph.workflow``).

The file is YAML: a mapping with one key, ``hooks``, a list of entries::

    hooks:
      - name: cmdb                    # optional; default: the workflow name
        workflow: register_in_cmdb    # a workflow of the service's project
        when: after                   # before | after
        actions: [create, update]     # any of create, update, delete
        resource_type: OS::Nova::*    # glob; at least one of the two
        resource_name: web*           # glob
        input: {owner: ops}           # optional, static, passed as is
        attributes: [first_address]   # optional, after create/update only
        timeout: 300                  # optional, seconds

Contract: ``parse`` returns Hooks or raises ``HooksFileError`` whose message
names the file and the entry (by position and name); nothing half-parsed
is returned. An entry applies to a resource when every pattern it gives
matches (``fnmatch``, case-sensitive) and its ``actions`` contain the
action.
"""

import dataclasses
import fnmatch
import re

import yaml

WHEN = ('before', 'after')
ACTIONS = ('create', 'update', 'delete')
# Input key carrying what the hook is about; see ``resource_input``.
RESOURCE_INPUT = 'resource'
_NAME = re.compile(r'^[A-Za-z0-9_.-]+$')
_KEYS = frozenset(('name', 'workflow', 'when', 'actions', 'resource_type',
                   'resource_name', 'input', 'attributes', 'timeout'))


class HooksFileError(ValueError):
    """The hooks file cannot be used; the message names file and entry."""


@dataclasses.dataclass(frozen=True)
class Hook:
    """One entry of the hooks file."""

    name: str
    workflow: str
    when: str
    actions: frozenset
    resource_type: str = None
    resource_name: str = None
    input: dict = dataclasses.field(default_factory=dict, hash=False)
    attributes: tuple = ()
    timeout: int = None
    position: int = 0     # 1-based place in the file, for messages

    def __hash__(self):
        return hash((self.name, self.when))

    def matches(self, resource_name, resource_type, action=None):
        """True if this hook applies to the resource (and ``action``)."""
        if action is not None and action not in self.actions:
            return False
        if self.resource_type is not None and not fnmatch.fnmatchcase(
                resource_type or '', self.resource_type):
            return False
        if self.resource_name is not None and not fnmatch.fnmatchcase(
                resource_name or '', self.resource_name):
            return False
        return True

    def describe(self):
        """How messages name the entry: ``entry N (NAME)``."""
        return 'entry %d (%s)' % (self.position, self.name)


def parse(text, source='<hooks file>'):
    """Parse the hooks file text into a tuple of Hooks.

    :param source: the file name, for messages.
    :raises HooksFileError: bad YAML, an unknown key, a bad value or two
        entries with the same name and ``when``.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise HooksFileError('%s is not valid YAML: %s'
                             % (source, _yaml_problem(exc)))
    if document is None:
        return ()
    if not isinstance(document, dict) or set(document) - {'hooks'}:
        raise HooksFileError('%s must be a mapping with the single key '
                             '"hooks" (a list of entries)' % source)
    entries = document.get('hooks') or []
    if not isinstance(entries, list):
        raise HooksFileError('%s: "hooks" must be a list of entries'
                             % source)
    hooks = []
    seen = set()
    for position, entry in enumerate(entries, 1):
        hook = _entry(entry, '%s, entry %d' % (source, position))
        hook = dataclasses.replace(hook, position=position)
        if (hook.name, hook.when) in seen:
            raise HooksFileError(
                '%s, entry %d (%s): another %s hook has the same name; give '
                'each a distinct "name"' % (source, position, hook.name,
                                            hook.when))
        seen.add((hook.name, hook.when))
        hooks.append(hook)
    return tuple(hooks)


def _yaml_problem(exc):
    """PyYAML's error in one line: the problem and where (from 1).

    Its own text spans lines, with the offending line quoted; the message
    reaches a stack's reason and the CLI, where one sentence belongs.
    """
    problem = getattr(exc, 'problem', None)
    if not problem:
        return ' '.join(str(exc).split())
    mark = getattr(exc, 'problem_mark', None)
    if mark is None:
        return problem
    return '%s at line %d, column %d' % (problem, mark.line + 1,
                                         mark.column + 1)


def _entry(entry, where):
    if not isinstance(entry, dict):
        raise HooksFileError('%s must be a mapping' % where)
    label = entry.get('name') or entry.get('workflow')
    if isinstance(label, str):
        where = '%s (%s)' % (where, label)

    def bad(message):
        return HooksFileError('%s: %s' % (where, message))

    unknown = sorted(str(k) for k in set(entry) - _KEYS)
    if unknown:
        raise bad('unknown key(s) %s; known keys are %s'
                  % (', '.join(unknown), ', '.join(sorted(_KEYS))))
    workflow = entry.get('workflow')
    if not isinstance(workflow, str) or not _NAME.match(workflow):
        raise bad('"workflow" must be a Mistral workflow name')
    name = entry.get('name', workflow)
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad('"name" must be letters, digits, "_", "-" or "."')
    when = entry.get('when')
    if when not in WHEN:
        raise bad('"when" must be one of %s, not %r' % (', '.join(WHEN),
                                                        when))
    actions = entry.get('actions')
    if isinstance(actions, str):
        actions = [actions]
    if (not isinstance(actions, list) or not actions or
            not all(a in ACTIONS for a in actions)):
        raise bad('"actions" must be a non-empty list of %s'
                  % ', '.join(ACTIONS))
    patterns = {}
    for key in ('resource_type', 'resource_name'):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise bad('"%s" must be a glob pattern (a string)' % key)
        patterns[key] = value
    if not any(patterns.values()):
        raise bad('give "resource_type" or "resource_name" (glob '
                  'patterns; "*" for every resource)')
    static = entry.get('input', {})
    if not isinstance(static, dict) or not all(
            isinstance(k, str) for k in static):
        raise bad('"input" must be a mapping of parameter names to values')
    if RESOURCE_INPUT in static:
        raise bad('"input" may not set "%s": the hook passes it'
                  % RESOURCE_INPUT)
    attributes = entry.get('attributes', [])
    if not isinstance(attributes, list) or not all(
            isinstance(a, str) and a for a in attributes):
        raise bad('"attributes" must be a list of resource attribute names')
    if attributes and (when != 'after' or actions == ['delete']):
        raise bad('"attributes" are only known after create or update')
    timeout = entry.get('timeout')
    if timeout is not None and (isinstance(timeout, bool) or
                                not isinstance(timeout, int) or timeout < 1):
        raise bad('"timeout" must be a whole number of seconds >= 1')
    return Hook(name=name, workflow=workflow, when=when,
                actions=frozenset(actions), input=dict(static),
                attributes=tuple(attributes), timeout=timeout, **patterns)


def matching(hooks, resource_name, resource_type, when, actions=None):
    """The hooks, in file order, for a resource at ``when``.

    :param actions: the actions that may happen; a hook applies if it
        names one of them. None: any.
    """
    found = []
    for hook in hooks:
        if hook.when != when or not hook.matches(resource_name,
                                                 resource_type):
            continue
        if actions is not None and not hook.actions & set(actions):
            continue
        found.append(hook)
    return found


def attributes_wanted(hooks, resource_name, resource_type, action):
    """Attribute names the after-hooks of this action want, sorted."""
    wanted = set()
    for hook in matching(hooks, resource_name, resource_type, 'after',
                         (action,)):
        wanted.update(hook.attributes)
    return sorted(wanted)


def resource_input(stack_id, stack_name, resource_name, resource_type,
                   action, physical_resource_id=None, attributes=None):
    """The ``resource`` input of a hook workflow (a JSON-safe dict)."""
    return {'stack_id': stack_id, 'stack_name': stack_name,
            'name': resource_name, 'type': resource_type, 'action': action,
            'physical_resource_id': physical_resource_id,
            'attributes': dict(attributes or {})}


def input_problem(hook, declared):
    """Why ``hook`` cannot call a workflow with this input, or None.

    :param declared: the workflow's input as Mistral lists it (its
        ``interface``): names, or {name: default} for optional ones.
    """
    names, required = set(), set()
    for param in declared or ():
        if isinstance(param, dict):
            names.update(param)
        else:
            names.add(param)
            required.add(param)
    passed = {RESOURCE_INPUT} | set(hook.input)
    unexpected = sorted(passed - names)
    if unexpected:
        return ('workflow %s does not accept the input %s that the hook '
                'passes (its input is: %s)'
                % (hook.workflow, ', '.join(unexpected),
                   ', '.join(sorted(names)) or 'none'))
    missing = sorted(required - passed)
    if missing:
        return ('workflow %s requires the input %s, which the hook does not '
                'pass: give it in the entry\'s "input" or a default in the '
                'workflow' % (hook.workflow, ', '.join(missing)))
    return None
