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

"""Record which node starts a nested stack's action, on the parent's row.

A nested stack's traversal runs under the parent's node that started it
(``traversal.nested_link``). Looking that node up by the parent stack's
*current* traversal is not enough: Heat starts the nested traversal in a
thread of its own after the parent's node made its RPC call, and a second
update of the parent may become current in between. Heat then deletes the
first traversal's sync points, node claims included, and the nested
traversal found either no running node (its execution linked to nothing)
or the new traversal's node, which is only waiting for the resource's lock
to pre-empt it (linked to the wrong task). Seen in the parity scenario
``update_preempts_nested_update`` with the second update 0.9 s into the
nested update.

So the starting node says so itself, where a newer traversal cannot erase
it. ``install`` wraps ``StackResource.create_with_template``,
``update_with_template`` and ``delete_nested``, the three calls through
which a parent's resource action starts its nested stack's create, update
(rollback included) or delete. When the calling thread runs a node
(``acting``, which the node runner enters around the resource action), the
wrapper first stores in the resource row's data (key ``DATA_KEY``, which
users cannot write) the parent stack, the node's traversal and its Mistral
action execution. It runs in the node's own thread, while the node holds
the resource's lock, right before Heat's RPC call that starts the nested
action: whatever a nested traversal of this row finds there when it starts
names the node that started it. ``recorded`` reads it back; the record
stays after the node has ended, so a reader must check that the action
execution it names still runs (``nested_link`` asks Mistral).

Recording never fails the resource: a problem is logged and the nested
stack runs with the link the claims give, as before. ``install`` checks
the wrapped methods' signatures and otherwise leaves Heat alone with a
warning.
"""

import contextlib
import functools
import json
import threading

from heat.common import exception as heat_exception
from heat.engine.resources import stack_resource
from heat.objects import resource_data as resource_data_objects
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

DATA_KEY = 'mistral_nested_starter'

# (method name, expected parameters) of StackResource.
WRAPPED = (
    ('create_with_template', ('self', 'child_template', 'user_params',
                              'timeout_mins', 'adopt_data')),
    ('update_with_template', ('self', 'child_template', 'user_params',
                              'timeout_mins')),
    ('delete_nested', ('self',)),
)

# The node running in this thread (green thread under eventlet): a dict
# with stack_id, traversal and action_execution, or None.
_ACTING = threading.local()


@contextlib.contextmanager
def acting(stack_id, traversal, action_execution):
    """The calling thread runs this node's resource action meanwhile.

    For the node runner; nested actions started inside are recorded as
    this node's. Nests (the outer node is restored on exit).
    """
    outer = getattr(_ACTING, 'node', None)
    _ACTING.node = {'stack_id': stack_id, 'traversal': traversal,
                    'action_execution': action_execution}
    try:
        yield
    finally:
        _ACTING.node = outer


def current():
    """The node ``acting`` in this thread, or None."""
    return getattr(_ACTING, 'node', None)


def record(rsrc):
    """Store the acting node as the starter of ``rsrc``'s nested action.

    Does nothing outside a node, or for a resource of another stack than
    the node's (a node only starts its own stack's nested actions) or not
    stored yet. Never raises.
    """
    node = current()
    if node is None:
        return
    try:
        if rsrc.id is None or rsrc.stack.id != node['stack_id']:
            return
        rsrc.data_set(DATA_KEY, json.dumps(node, sort_keys=True))
    except Exception as exc:
        LOG.warning('%s: could not record the node that starts its nested '
                    'stack\'s action; its Mistral execution is linked by '
                    'the parent\'s current traversal only: %s',
                    rsrc.name, exc)


def recorded(cnxt, resource_id):
    """The starter ``record`` stored for resource row ``resource_id``.

    A dict with stack_id, traversal and action_execution, or None when
    there is none or it does not parse. It may name a node that has
    ended: the caller checks.
    """
    try:
        found = resource_data_objects.ResourceData.get_by_key(
            cnxt, resource_id, DATA_KEY)
    except heat_exception.NotFound:
        return None
    try:
        node = json.loads(found.value)
    except (TypeError, ValueError):
        return None
    if not isinstance(node, dict) or not all(
            isinstance(node.get(key), str)
            for key in ('stack_id', 'traversal', 'action_execution')):
        return None
    return node


def _recording(method):
    @functools.wraps(method)
    def recording(self, *args, **kwargs):
        record(self)
        return method(self, *args, **kwargs)

    return recording


def incompatibilities(cls=stack_resource.StackResource):
    """What in Heat's StackResource differs from what this module wraps."""
    return heat_release.method_problems('StackResource', cls, WRAPPED)


def install(cls=stack_resource.StackResource):
    """Wrap StackResource's nested create, update and delete. Idempotent.

    Returns False (and leaves Heat alone, with a warning) when Heat's
    StackResource is not the one this module was written for.
    """
    problems = incompatibilities(cls)
    if problems:
        LOG.warning('heat-mistral-engine: a nested stack started by a '
                    'superseded traversal may run unlinked to its parent '
                    'task: %s', '; '.join(problems))
        return False
    heat_release.wrap_methods(cls, [name for name, _ in WRAPPED], _recording)
    return True
