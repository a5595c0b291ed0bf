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

"""Link a nested stack's execution to the parent task it runs under.

A nested stack (``OS::Heat::ResourceGroup``, a provider template resource,
any ``StackResource``, and the stack an ``OS::Heat::Stack`` creates in this
Heat) runs each traversal under its own generated workflow. The parent's
node for the nested resource waits in heat-engine (Heat's own
``check_*_complete`` polling of the nested stack), so its Mistral task
ends only after the child's traversal has ended. This module makes that
relation visible in Mistral: when heat-engine starts a nested stack's
execution, ``parent_link`` finds the parent's running node and
``execution_params`` records it on the child execution:

* ``heat_parent`` (``execution_link``; Mistral keeps unknown execution
  params and shows them in ``GET /v2/executions/<id>``): the parent stack
  and resource, the parent execution, and the task's name and task
  execution id;
* ``root_execution_id``: the top execution of the tree, Mistral's own field
  (``openstack workflow execution list --rootsonly`` hides nested stacks'
  executions, ``?root_execution_id=`` lists a whole tree). Mistral 23
  uses it only to read the environment (``env()``; the generated
  workflows use none) and to label log lines, so it changes nothing in how
  the child runs.

``task_execution_id``, Mistral's sub-workflow link, is deliberately NOT
set: Mistral would then complete the parent task itself with the child's
result when the child ends (``Workflow._send_result_to_parent_workflow``),
pause and rerun the parent with the child, and delete the child with the
parent task. The parent task must be completed by heat-engine only.

How the parent's node is found, with Heat's data only: the nested stack's
``owner_id`` and ``parent_resource_name`` name the parent resource and its
rows in the parent stack. The node that started the nested action recorded
itself in the row's data (``patches.nested_starter``), right before Heat's
call that started it; that record wins while Mistral shows its action
execution RUNNING. It matters when the parent's traversal was superseded
between that call and this start (a second update of the parent while the
first one updates the nested stack): Heat deleted the superseded
traversal's node claims by then, and the new traversal's node of the same
resource, if it runs at all, only waits for the resource's lock to
pre-empt the nested update, so the claims named no task or the wrong one.
Otherwise (no record, or one of a node that has ended: the nested action
was not started by a node of this plugin) the parent's current traversal
and the node claims (``store.claims``, recorded before a node runs) give
the Mistral action execution of the node that is running now. Mistral's
API turns the action execution into its task and execution.
``OS::Heat::Stack`` creates a top-level stack through heat-api (no
owner); when it does so in this Heat, ``remote_stack_link`` marks the
child with a tag naming the parent's resource row and checks that mark,
after which the same claims apply (no starter record: ``RemoteStack`` is
no ``StackResource``). A child in another region or cloud carries no
link.

Finding the link never fails the nested stack: any problem is logged and
the execution starts without one.
"""

import dataclasses

from heat.objects import resource as resource_objects
from heat.objects import stack as stack_objects
from oslo_log import log as logging

from heat_mistral_engine import execution_link
from heat_mistral_engine.heat.store import claims
from heat_mistral_engine.heat.patches import nested_starter
from heat_mistral_engine.heat.patches import remote_stack_link

LOG = logging.getLogger(__name__)

# Mistral's state of an action execution that has not ended.
RUNNING = 'RUNNING'


@dataclasses.dataclass(frozen=True)
class ParentLink:
    """The parent task a nested stack's traversal runs under."""

    stack_id: str            # the parent stack
    resource: str            # the parent's resource that owns the child
    execution_id: str        # the parent stack's execution
    task: str                # the name of the parent resource's task
    task_execution_id: str
    root_execution_id: str   # the top execution of the tree


def execution_params(link):
    """Mistral execution params recording ``link`` ({} for None)."""
    if link is None:
        return {}
    return execution_link.params(dataclasses.asdict(link),
                                 link.root_execution_id)


def parent_rows(cnxt, stack):
    """The rows of ``stack``'s parent resource in its owner, or [].

    [] for a top-level stack.
    """
    if not stack.owner_id or not stack.parent_resource_name:
        return []
    return [row for row in resource_objects.Resource.get_all_active_by_stack(
        cnxt, stack.owner_id).values()
        if row.name == stack.parent_resource_name]


def recorded_starter(cnxt, stack, rows):
    """The action execution recorded as starting ``stack``'s action.

    From ``rows``, the parent resource's rows (``parent_rows``), their
    records (``nested_starter.recorded``); a row
    whose physical id is this stack wins over another (a replacement and
    its old self). None for a top-level stack or when no row holds a
    record of a node of the parent stack. The node may have ended since:
    the caller asks Mistral.
    """
    found = []
    for row in rows:
        node = nested_starter.recorded(cnxt, row.id)
        if node is not None and node['stack_id'] == stack.owner_id:
            found.append((row.physical_resource_id == stack.id,
                          node['action_execution']))
    if not found:
        return None
    return max(found, key=lambda pair: pair[0])[1]


def running_parent_action(cnxt, stack, rows):
    """The Mistral action execution of the parent node running ``stack``.

    ``rows`` are the parent resource's rows (``parent_rows``). None for a
    top-level stack, or when no node of the parent's current
    traversal for the parent resource is running (the parent's action is
    one Heat runs natively). When several rows of the parent resource have
    a running node (a replacement and its old self), the row whose
    physical id is this stack wins.
    """
    if not stack.owner_id or not stack.parent_resource_name:
        return None
    parent = stack_objects.Stack.get_by_id(cnxt, stack.owner_id)
    if parent is None or not parent.current_traversal:
        return None
    return running_action(cnxt, parent, rows, stack.id)


def running_action(cnxt, parent, rows, stack_id):
    """The action execution of a RUNNING node of ``rows``, or None.

    Nodes of ``parent``'s current traversal only, create/update or cleanup;
    a row whose physical id is ``stack_id`` wins.
    """
    if not parent.current_traversal:
        return None
    found = []
    for row in rows:
        for is_update in (True, False):
            claim = claims.get_node(cnxt, row.id,
                                    parent.current_traversal, is_update)
            if claim is not None and claim.state in claims.IN_FLIGHT:
                found.append((row.physical_resource_id == stack_id,
                              claim.action_execution))
    if not found:
        return None
    return max(found, key=lambda pair: pair[0])[1]


def running_parent(cnxt, stack, rows):
    """(parent stack id, parent resource name, action execution) or None.

    A nested stack's parent is its owner (``rows``: the parent resource's
    rows, ``parent_rows``); a top-level stack's is the
    ``OS::Heat::Stack`` of this Heat that marked it (``remote_stack_link``,
    which checks the mark), if that resource's node is running.
    """
    if stack.owner_id:
        action = running_parent_action(cnxt, stack, rows)
        if action is None:
            return None
        return stack.owner_id, stack.parent_resource_name, action
    marked = remote_stack_link.marked_parent(cnxt, stack)
    if marked is None:
        return None
    parent, row = marked
    action = running_action(cnxt, parent, [row], stack.id)
    if action is None:
        LOG.info('Stack %s was created by %s of stack %s, whose node is not '
                 'running in Mistral now: its execution is not linked',
                 stack.id, row.name, parent.id)
        return None
    return parent.id, row.name, action


def started_by(stack, service, rows):
    """(parent stack id, resource name, task_of_action) of the recorded node.

    The node ``recorded_starter`` names in ``rows`` (the parent resource's
    rows, ``parent_rows``), if Mistral shows its action
    execution still RUNNING (a node that has ended did not start this
    traversal); else None. Raises what ``MistralService`` raises.
    """
    action_execution = recorded_starter(stack.context, stack, rows)
    if action_execution is None:
        return None
    where = service.task_of_action(action_execution)
    if where.get('action_state') != RUNNING:
        return None
    return stack.owner_id, stack.parent_resource_name, where


def parent_link(stack, service):
    """The ParentLink of ``stack``'s traversal, or None (never raises).

    ``service`` is a ``MistralService``. The node that recorded starting
    this stack's action (``started_by``) first, then the running node of
    the parent's current traversal (``running_parent``), both from one
    read of the parent resource's rows.
    """
    try:
        rows = parent_rows(stack.context, stack)
        found = started_by(stack, service, rows)
        if found is None:
            found = running_parent(stack.context, stack, rows)
            if found is None:
                return None
            parent_id, resource, action_execution = found
            where = service.task_of_action(action_execution)
        else:
            parent_id, resource, where = found
    except Exception as exc:
        LOG.warning('Nested stack %s: could not find the parent task it '
                    'runs under; its Mistral execution is not linked to '
                    'it: %s', stack.id, exc)
        return None
    return ParentLink(stack_id=parent_id, resource=resource,
                      execution_id=where['execution_id'], task=where['task'],
                      task_execution_id=where['task_execution_id'],
                      root_execution_id=where['root_execution_id'])
