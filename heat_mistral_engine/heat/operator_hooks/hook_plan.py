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

"""What operator hooks learn about a resource (inside heat-engine).

Two moments, both Heat-specific (the pure side is ``graph.hook_tasks``):

* when a traversal starts, ``plans`` says which action each node is
  expected to do, for before hooks: create for a resource never created,
  update for one that exists (the hook runs even if Heat then finds nothing
  to change), delete for the cleanup node of a resource that leaves the
  stack (stack delete, or a resource gone from the template). A cleanup
  that Heat decides during the traversal (the old resource of a
  replacement) gets no before-delete hook; after-delete hooks do run.
* when a node with after hooks is done, ``report`` says what Heat actually
  did (``action``: create, update, delete, or None when nothing changed)
  and hands over the physical id and only the attributes the hooks list,
  in clear: they are carried by Mistral (see the security page).
"""

from oslo_log import log as logging
from oslo_serialization import jsonutils

from heat_mistral_engine.graph import operator_hooks

LOG = logging.getLogger(__name__)


def plans(stack, graph):
    """{node key: {'action', 'physical_resource_id'}} for before hooks."""
    rows = stack.ext_rsrcs_db or {}
    found = {}
    for node in graph:
        if node.is_update:
            rsrc = stack.resources.get(node.resource_name)
            if rsrc is None:
                continue
            created = rsrc.action != rsrc.INIT
            found[node.key] = {
                'action': 'update' if created else 'create',
                'physical_resource_id': rsrc.resource_id if created
                else None}
            continue
        row = rows.get(node.resource_id)
        current = stack.resources.get(node.resource_name)
        leaves = (stack.action == stack.DELETE or current is None or
                  (current.id is not None and current.id != node.resource_id))
        if row is not None and leaves:
            found[node.key] = {'action': 'delete',
                               'physical_resource_id':
                                   row.physical_resource_id}
    return found


def snapshot(rsrc):
    """What ``happened`` compares: the resource's state before the node."""
    return (rsrc.id, rsrc.action, rsrc.status, rsrc.updated_time)


def happened(before, rsrc, is_update):
    """The action Heat did on the resource in the node, or None."""
    rid, action, status, updated = before
    if not is_update:
        if (rsrc.action, rsrc.status) == (rsrc.DELETE, rsrc.COMPLETE) and (
                (action, status) != (rsrc.DELETE, rsrc.COMPLETE)):
            return 'delete'
        return None
    if rsrc.id != rid or (
            (rsrc.action, rsrc.status) == (rsrc.CREATE, rsrc.COMPLETE) and
            (action, status) != (rsrc.CREATE, rsrc.COMPLETE)):
        return 'create'
    if rsrc.updated_time != updated and rsrc.action == rsrc.UPDATE:
        return 'update'
    return None


def report(stack, rsrc, action, attribute_names):
    """The ``hook`` part of the node's action output (JSON-safe)."""
    attributes = {}
    if action in ('create', 'update'):
        for name in attribute_names:
            try:
                attributes[name] = jsonutils.to_primitive(
                    rsrc.FnGetAtt(name), convert_instances=True)
            except Exception as exc:
                # A hook gets what can be read; the resource is fine.
                LOG.warning('Stack %s: attribute %s of %s for operator '
                            'hooks: %s', stack.id, name, rsrc.name, exc)
                attributes[name] = None
    return operator_hooks.resource_input(
        stack.id, stack.name, rsrc.name, rsrc.type(), action,
        rsrc.resource_id, attributes)
