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

"""How a nested stack's execution names its parent task (pure, shared).

heat-engine writes it (``heat.nested_link``) when it starts a nested
stack's execution; ``openstack stack workflow show`` reads it back. It is
one Mistral execution param, ``heat_parent``::

    {"stack_id": <parent stack>, "resource": <parent resource name>,
     "execution_id": <parent execution>, "task": <parent task name>,
     "task_execution_id": <parent task execution>}

next to Mistral's own ``root_execution_id`` (the top execution of the
tree), which lets one API call list every execution of a stack tree.
"""

import json

PARAM = 'heat_parent'
FIELDS = ('stack_id', 'resource', 'execution_id', 'task',
          'task_execution_id')


def params(parent, root_execution_id):
    """Mistral execution params for a child of ``parent`` (a dict)."""
    return {PARAM: {key: parent[key] for key in FIELDS},
            'root_execution_id': root_execution_id}


def parent_of(execution_params):
    """The ``heat_parent`` dict recorded in an execution's params, or None.

    ``execution_params`` as Mistral's API returns it: a dict or its JSON
    text (None or garbage give None).
    """
    value = execution_params
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    link = value.get(PARAM) if isinstance(value, dict) else None
    return link if isinstance(link, dict) else None


def children(execution_id, executions):
    """The executions among ``executions`` nested in ``execution_id``.

    Sorted by creation; each is returned with its parent link as the pair
    (execution, link).
    """
    found = []
    for candidate in executions:
        link = parent_of(getattr(candidate, 'params', None))
        if link and link.get('execution_id') == execution_id:
            found.append((candidate, link))
    return sorted(found, key=lambda pair: (pair[0].created_at or '',
                                           pair[0].id))
