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

"""The stack's completion point in a traversal Mistral orders (heat-engine).

A traversal is complete when every root node of its graph (a node nothing
else in the graph requires) has run. Heat's ``check_stack_complete`` keeps
that count in the stack's own sync point row, as the set of roots done so
far with ``ast.literal_eval``-packed keys, and each root decodes and
re-encodes the whole set: O(roots) per root, O(roots^2) per traversal. A
write that loses the compare-and-swap waits a random time of up to 10 ms
per root still outstanding (seconds in a wide stack) before it reads
again. In a stack of 500 independent resources every node is a root.

This module keeps the same point in the same row (created by
``traversal.starter.start`` as Heat's ``converge_stack`` does, and deleted with
the traversal's other sync points by Heat), holding plain JSON::

    {"hme_roots_done": ["<resource id>:<0|1 is_update>", ...]}

A row Heat's own format still holds (``{"input_data": {<packed node>:
null}}``: a traversal started by an earlier release of this plugin, which
let Heat count) is read as the roots it lists, so that such a traversal
still completes after heat-engine is upgraded.

Contract of ``root_done``:

* a node that is not a root of the traversal's graph does nothing;
* idempotent: a root reported twice (a hook report delivered again) counts
  once;
* exactly one caller, the one whose write completes the set, marks the
  stack complete, with Heat's own ``Stack.mark_complete`` as Heat's
  ``check_stack_complete`` does;
* the row gone (the traversal ended, failed or was replaced) does nothing;
* two engines writing at once: one write wins (the row's atomic key), the
  other reads again after a short pause. Within one engine process the
  nodes take turns (``_TURN``): without it, dozens of a worker's threads
  finishing together kept overwriting each other's reads, and their
  retries spun (doc/source/benchmarks.rst, "Figures behind the code").
"""

import random
import threading
import time

from heat.common import exception
from heat.engine import sync_point
from oslo_log import log as logging
import tenacity

from heat_mistral_engine.heat.store import sync_point_data

LOG = logging.getLogger(__name__)

KEY = 'hme_roots_done'
# Pause before reading again after a lost write: up to this many seconds
# times the number of writes lost so far, capped at MAX_PAUSE.
PAUSE_STEP = 0.005
MAX_PAUSE = 0.2
_TURN = threading.Lock()
# What a write that lost the compare-and-swap returns (None means done).
_LOST = object()


def node_key(resource_id, is_update):
    """The entry of node (resource_id, is_update) in the done list."""
    return '%s:%d' % (resource_id, 1 if is_update else 0)


def root_keys(graph):
    """The done-list entries of every root of a traversal graph."""
    return {node_key(node.rsrc_id, node.is_update) for node in graph.roots()}


class NotReady(Exception):
    """Every root ran, but ``ready`` refused completion (its reason)."""


def root_done(stack, traversal, resource_id, is_update, graph,
              sleep=time.sleep, ready=None):
    """Record that root node (resource_id, is_update) of ``traversal`` ran.

    ``graph`` is the traversal's graph (``roots()`` yields Heat's
    ``ConvergenceNode``). Returns True if this call marked the stack
    complete.

    :param ready: callable() -> None or an exception, asked by the one
        call whose write completes the set, before it marks the stack
        complete (operator after hooks: ``heat.node.hook_proofs``).
    :raises NotReady: ``ready`` returned an exception (the cause); the
        stack is not marked complete, the caller fails it.
    """
    roots = root_keys(graph)
    key = node_key(resource_id, is_update)
    if key not in roots:
        return False
    with _TURN:
        done = _record(stack, traversal, key, sleep)
    if done is not None and roots.issubset(done):
        LOG.debug('Stack %s traversal %s: all %d roots done', stack.id,
                  traversal, len(roots))
        refused = ready() if ready is not None else None
        if refused is not None:
            raise NotReady(str(refused)) from refused
        stack.mark_complete()
        return True
    return False


def _record(stack, traversal, key, sleep):
    """Add ``key`` to the done list; the list this call wrote, else None.

    None: the key was there already, or the traversal has ended. A lost
    write reads again after ``_pause``, as Heat's sync points do with
    tenacity, for as long as writes are lost.
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda written: written is _LOST),
        wait=_pause, sleep=sleep)
    return retrying(_record_once, stack, traversal, key)


def _pause(retry_state):
    """Seconds before reading again: random, growing with the writes lost."""
    lost = retry_state.attempt_number
    return random.uniform(0, min(MAX_PAUSE, PAUSE_STEP * lost))


def _record_once(stack, traversal, key):
    """One read and compare-and-swap write: as ``_record``, or ``_LOST``."""
    try:
        row = sync_point.get(stack.context, stack.id, traversal, True)
    except exception.EntityNotFound:
        LOG.info('Stack %s: traversal %s has ended; root %s not '
                 'counted', stack.id, traversal, key)
        return None
    done = done_list(row.input_data)
    if key in done:
        return None
    done.append(key)
    if sync_point.update_input_data(
            stack.context, stack.id, traversal, True, row.atomic_key,
            input_data={KEY: done}):
        return done
    return _LOST


def done_list(input_data):
    """The done list a completion point's ``input_data`` holds."""
    data = input_data or {}
    done = list(data.get(KEY) or [])
    if data.get('input_data'):
        # Heat's format: packed ConvergenceNode keys.
        for node in sync_point_data.unpack(data['input_data']):
            entry = node_key(node[0], node[1])
            if entry not in done:
                done.append(entry)
    return done
