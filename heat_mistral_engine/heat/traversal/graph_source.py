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

"""Read a stack's convergence graph into a pure TaskGraph (in heat-engine).

The graph is Heat's own: ``stack.convergence_dependencies``, computed by
Heat from get_attr, get_resource, depends_on and implicit dependencies, with
cleanup nodes for existing rows and delete edges already reversed. Nothing
here re-derives dependencies, so the workflow orders exactly what native
Heat would.

Edge kinds are only labels for people (``openstack stack workflow show``):
an edge between two create/update nodes gets the kinds that
``template_graph.edges`` finds in the stack's new template. Cleanup edges
come from stored rows, not from a template, and get none.
"""

from oslo_log import log as logging

from heat_mistral_engine.graph import model
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.traversal import template_graph

LOG = logging.getLogger(__name__)


class UnsupportedGraph(Exception):
    """The traversal has nodes Mistral does not drive (snapshots).

    ``starter.handles`` sends stacks with snapshots to Heat's native path
    before this can happen; raising keeps a mistake loud.
    """


def task_graph(stack):
    """Return the TaskGraph of the stack's current traversal.

    Valid after ``convergence.prepare_traversal(stack)``.
    """
    deps = stack.convergence_dependencies
    graph = deps.graph()
    names = convergence.resource_names(stack)
    types = _resource_types(stack)

    nodes = []
    for key in graph:
        if key.node_type != 'resource':
            raise UnsupportedGraph('%s node %s' % (key.node_type, key.rsrc_id))
        name = names.get(key.rsrc_id, str(key.rsrc_id))
        nodes.append(model.Node(resource_id=key.rsrc_id,
                                is_update=key.is_update,
                                resource_name=name,
                                resource_type=types.get(name, '')))
    edges = [((required.rsrc_id, required.is_update),
              (requirer.rsrc_id, requirer.is_update))
             for requirer in graph for required in graph[requirer]]
    return model.TaskGraph(nodes, edges, kinds=_kinds(stack, edges, names))


def _kinds(stack, edges, names):
    """{edge: kinds} for the edges between create/update nodes."""
    try:
        by_name = {(e.source, e.target): e.kinds
                   for e in template_graph.edges(stack)}
    except Exception:
        # Heat already validated this graph; labels are a convenience and
        # must never stop a traversal.
        LOG.exception('Stack %s: edge kinds left out', stack.id)
        return {}
    kinds = {}
    for required, requirer in edges:
        if required[1] and requirer[1]:
            found = by_name.get((names.get(required[0]),
                                 names.get(requirer[0])))
            if found:
                kinds[(required, requirer)] = found
    return kinds


def _resource_types(stack):
    return {name: rsrc.type() for name, rsrc in stack.resources.items()}
