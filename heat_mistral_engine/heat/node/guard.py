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

"""What a node request must prove before heat-engine acts on it.

A request comes from Mistral, whose API and database Heat does not trust
(see the security page of the documentation). After its traversal token
verified (``traversal_token``: the request is for this stack and
traversal, and carries the user's context), a request is admitted only if

1. the traversal is still the stack's current one and not yet complete
   (``Stale``, ``Complete``: nothing is touched);
2. the node is a node of that traversal's graph, as Heat stored it in the
   stack (``current_deps``), not as Mistral's workflow says (``NotAdmitted``);
3. every predecessor the stored graph requires handed over a receipt that
   opens for exactly that predecessor of this stack and traversal, and
   nothing else was handed over (``seal.InvalidReceipt``): so a task
   forced to SUCCESS in Mistral, or data edited in Mistral, never lets a
   dependent run.

A request for the stack's current traversal after it completed
(``Complete``) is not run either. ``admit_completed`` checks it as
``admit`` checks a running one (the stack COMPLETE in exactly that
traversal, the node one of its stored graph); the runner then answers it
as done without acting (a re-driven execution whose traversal completed
meanwhile), only to the node's own action execution of the traversal's
generated workflow, and only once its predecessors' receipts open
(``open_predecessors``): every node of a complete traversal ran in Heat.

``TraversalGraphs`` keeps each traversal's stored graph, built once per
engine worker, for these checks and for the stack's completion.
"""

import threading

import cachetools
from heat.engine import dependencies
from heat.engine import stack as heat_stack
from heat.objects import stack as stack_object

from heat_mistral_engine.heat.node import seal
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine import protocol


class Stale(Exception):
    """The request's traversal is no longer the stack's current one."""


class NotAdmitted(Exception):
    """The request is not for a node Heat should run; nothing was touched."""


class Complete(NotAdmitted):
    """The request's traversal is the stack's current one and complete."""


class TraversalGraph:
    """A traversal's stored graph: its roots and each node's requirements."""

    def __init__(self, deps):
        graph = deps.graph()
        self._requires = {node: frozenset(graph[node]) for node in graph}
        self._roots = frozenset(deps.roots())

    def roots(self):
        """As ``Dependencies.roots``: what ``check_stack_complete`` needs."""
        return iter(self._roots)

    def __contains__(self, node):
        return node in self._requires

    def requires(self, node):
        """The nodes ``node`` requires (keys as Heat stores them)."""
        return self._requires[node]


class TraversalGraphs:
    """Each traversal's graph, built once per engine worker; thread-safe.

    Building a stack's ``convergence_dependencies`` costs O(edges); doing it
    for every node made a traversal O(nodes x edges). A traversal's stored
    graph never changes, so the last ``size`` traversals are kept (an LRU
    cache under a lock). A graph is built outside the lock: two threads
    may build the same one once each; a build that raises stores nothing.
    """

    def __init__(self, size=64):
        self._of = cachetools.cached(
            cachetools.LRUCache(size), lock=threading.Lock(),
            key=lambda stack, traversal: (stack.id, traversal))(_build)

    def of(self, stack, traversal):
        """The TraversalGraph of ``stack`` for ``traversal``.

        ``stack`` has ``id`` and ``convergence_dependencies``, those of
        ``traversal``.
        """
        return self._of(stack, traversal)


def _build(stack, traversal):
    return TraversalGraph(stack.convergence_dependencies)


TRAVERSAL_GRAPHS = TraversalGraphs()


class _StoredStack:
    """A stack's stored graph for one traversal, read only when asked.

    ``TraversalGraphs`` asks on a cache miss only; the row is read then and
    must still be at ``traversal`` (else ``Stale``: the graph stored now is
    a newer traversal's).
    """

    def __init__(self, cnxt, stack_id, traversal):
        self.id = stack_id
        self._cnxt = cnxt
        self._traversal = traversal

    @property
    def convergence_dependencies(self):
        # As Stack.convergence_dependencies, from the row alone.
        row = stack_object.Stack.get_by_id(self._cnxt, self.id,
                                           eager_load=False)
        if row is None or row.current_traversal != self._traversal:
            raise Stale('traversal %s of stack %s was superseded'
                        % (self._traversal, self.id))
        current_deps = row.current_deps or {'edges': []}
        from_tuple = heat_stack.ConvergenceNode.from_tuple
        return dependencies.Dependencies(edges=(
            (from_tuple(rqr), from_tuple(rqd) if rqd is not None else None)
            for rqr, rqd in current_deps['edges']))


def node_of(request):
    """The request's node as Heat's graph names it."""
    return heat_stack.ConvergenceNode(request.resource_id, request.is_update)


def admit(cnxt, request):
    """Return the traversal's graph if the request's node may run.

    :raises Stale: the traversal was superseded (or the stack failed).
    :raises Complete: the traversal is the stack's current one and has
        completed (``admit_completed`` tells whether the node is one of it).
    :raises NotAdmitted: the stack is gone or not the user's, or the node
        is not in the traversal's graph.
    """
    return _admit(cnxt, request, completed=False)


def admit_completed(cnxt, request):
    """Return the graph of the completed traversal the request's node is in.

    The stack must be COMPLETE in the request's traversal (still its
    current one), and the node one of that traversal's stored graph: then
    it ran in Heat, as every node of a complete traversal did.

    :raises Stale: the traversal was superseded (or the stack failed).
    :raises NotAdmitted: the stack is gone or not the user's, the traversal
        is not complete (run the node with ``admit`` instead), or the node
        is not in the traversal's graph.
    """
    return _admit(cnxt, request, completed=True)


def _admit(cnxt, request, completed):
    # The columns the checks read: neither the template (the node's to
    # load) nor the graph (kept per traversal) is decoded here.
    row = stack_row.traversal_state(cnxt, request.stack_id)
    if row is None:
        raise NotAdmitted('stack %s does not exist' % request.stack_id)
    if row.current_traversal != request.traversal:
        raise Stale('traversal %s of stack %s was superseded by %s'
                    % (request.traversal, request.stack_id,
                       row.current_traversal or '(none)'))
    is_complete = row.status == heat_stack.Stack.COMPLETE
    if is_complete and not completed:
        raise Complete('traversal %s of stack %s is already complete'
                       % (request.traversal, request.stack_id))
    if completed and not is_complete:
        raise NotAdmitted('traversal %s of stack %s is not complete'
                          % (request.traversal, request.stack_id))
    graph = TRAVERSAL_GRAPHS.of(
        _StoredStack(cnxt, request.stack_id, request.traversal),
        request.traversal)
    if node_of(request) not in graph:
        raise NotAdmitted('resource %s (%s) is not a node of traversal %s of '
                          'stack %s' % (request.resource_id,
                                        protocol.node_kind(request.is_update),
                                        request.traversal, request.stack_id))
    return graph


def open_predecessors(request, graph):
    """Open every predecessor's receipt; return their node data.

    Returns {resource id: serialised NodeData} of the create/update
    predecessors (what Heat passes a create/update node), or {} for a
    cleanup node.

    :raises seal.InvalidReceipt: a required predecessor handed over
        nothing, or a receipt does not open for that predecessor, or data
        came for a node that is not a predecessor.
    """
    expected = {protocol.data_key(node.rsrc_id, node.is_update): node
                for node in graph.requires(node_of(request))}
    unexpected = sorted(set(request.data) - set(expected))
    if unexpected:
        raise seal.InvalidReceipt(
            'Mistral passed data for %s, which %s does not depend on'
            % (', '.join(protocol.short(k) for k in unexpected[:5]),
               _named(request)))
    missing = sorted(set(expected) - set(request.data))
    if missing:
        raise seal.InvalidReceipt(
            'Mistral passed no data from %s, which %s depends on: those '
            'nodes have not completed in Heat' % (', '.join(missing),
                                                  _named(request)))
    found = {}
    for key, node in expected.items():
        data = seal.open_receipt(request.data[key], request.stack_id,
                                 request.traversal, node.rsrc_id,
                                 node.is_update)
        if node.is_update:
            found[str(node.rsrc_id)] = data
    return found if request.is_update else {}


def _named(request):
    return 'resource %s (%s)' % (request.resource_id,
                                 protocol.node_kind(request.is_update))
