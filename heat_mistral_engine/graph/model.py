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

"""The task graph: one node per Heat convergence node, edges between them.

Pure data, no Heat and no Mistral: heat-engine builds it from a stack's
convergence graph, tests build it by hand, and the workflow compiler turns it
into a Mistral workflow.

Contract:
* A node is identified by ``key`` = (resource_id, is_update), as Heat's
  ``ConvergenceNode`` without the node type (snapshot nodes are not handled).
* ``edges`` are (required, requirer) pairs: ``requirer`` may start only once
  ``required`` has succeeded. Every key in an edge is a node of the graph.
* ``TaskGraph`` rejects cycles and dangling edges at construction, so a graph
  that exists can always be compiled.
* An edge may carry ``kinds``, the reasons it exists (``get_attr``,
  ``hosted_on``...; see ``heat.template_graph``). Kinds are for people
  reading the graph; the order does not depend on them, and an edge whose
  reasons are unknown (cleanup order from stored rows) has none.
"""

import collections
import dataclasses


class GraphError(ValueError):
    """The graph cannot be compiled; the message names the nodes at fault."""


@dataclasses.dataclass(frozen=True)
class Node:
    """One resource action: create/update (is_update) or cleanup/delete."""

    resource_id: int
    is_update: bool
    resource_name: str
    resource_type: str = ''

    @property
    def key(self):
        return (self.resource_id, self.is_update)

    @property
    def label(self):
        """Human name: the resource name, with the action when a cleanup."""
        if self.is_update:
            return self.resource_name
        return '%s (cleanup)' % self.resource_name


class TaskGraph:
    """An acyclic graph of Nodes; edges point from required to requirer."""

    def __init__(self, nodes, edges=(), kinds=None):
        """Build and check the graph.

        :param kinds: {(required key, requirer key): tuple of kinds}, for
            edges of the graph only.
        :raises GraphError: on a cycle, a dangling edge or kinds without
            an edge.
        """
        self._nodes = {}
        for node in nodes:
            if node.key in self._nodes:
                raise GraphError('node %s (%s) appears twice'
                                 % (node.key, node.label))
            self._nodes[node.key] = node
        self._requires = collections.defaultdict(set)
        self._required_by = collections.defaultdict(set)
        for required, requirer in edges:
            for key in (required, requirer):
                if key not in self._nodes:
                    raise GraphError('edge %s -> %s names unknown node %s'
                                     % (required, requirer, key))
            if required == requirer:
                raise GraphError('%s depends on itself'
                                 % self._nodes[required].label)
            self._requires[requirer].add(required)
            self._required_by[required].add(requirer)
        self._kinds = {}
        for (required, requirer), edge_kinds in (kinds or {}).items():
            if required not in self._requires.get(requirer, ()):
                raise GraphError('kinds given for %s -> %s, which is not an '
                                 'edge' % (required, requirer))
            self._kinds[(required, requirer)] = tuple(edge_kinds)
        self._order = self._topological_order()

    def __len__(self):
        return len(self._nodes)

    def __iter__(self):
        """Nodes in a topological order: every node after what it requires.

        Ties are broken by resource name so that output is stable.
        """
        return (self._nodes[k] for k in self._order)

    def node(self, key):
        return self._nodes[key]

    def requires(self, key):
        """Nodes that must succeed before ``key`` starts, sorted."""
        return self._sorted(self._requires.get(key, ()))

    def required_by(self, key):
        """Nodes that wait for ``key``, sorted."""
        return self._sorted(self._required_by.get(key, ()))

    def kinds(self, required, requirer):
        """The kinds of the edge between two node keys; () if unknown."""
        return self._kinds.get((required, requirer), ())

    def edges(self):
        """All (required, requirer) pairs of Nodes, in a stable order."""
        for requirer in self:
            for required in self.requires(requirer.key):
                yield required, requirer

    def _sorted(self, keys):
        return sorted((self._nodes[k] for k in keys), key=self._sort_key)

    @staticmethod
    def _sort_key(node):
        return (node.resource_name, node.is_update, node.resource_id)

    def _topological_order(self):
        # Kahn's algorithm; what is left over lies on a cycle.
        waiting = {k: len(self._requires.get(k, ())) for k in self._nodes}
        ready = sorted((self._nodes[k] for k, n in waiting.items() if n == 0),
                       key=self._sort_key, reverse=True)
        order = []
        while ready:
            node = ready.pop()
            order.append(node.key)
            newly = []
            for key in self._required_by.get(node.key, ()):
                waiting[key] -= 1
                if waiting[key] == 0:
                    newly.append(self._nodes[key])
            ready.extend(newly)
            ready.sort(key=self._sort_key, reverse=True)
        if len(order) != len(self._nodes):
            raise GraphError('dependency cycle among: %s' % ', '.join(
                sorted(self._nodes[k].label for k in self._on_cycles(
                    {k for k, n in waiting.items() if n > 0}))))
        return order

    def _on_cycles(self, stuck):
        # Kahn left the cycles plus what waits on them; peel off, from the
        # far end, every node that nothing stuck waits for.
        stuck = set(stuck)
        peeled = True
        while peeled:
            peeled = False
            for key in list(stuck):
                if not self._required_by.get(key, set()) & stuck:
                    stuck.discard(key)
                    peeled = True
        return stuck
