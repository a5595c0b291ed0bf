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

"""The two INFO lines a heat-engine writes for each node Mistral hands it.

They are what joins the three logs of one stack action (see the operator
guide, "Following a stack through the logs"):

* ``started`` names the stack, its action and traversal, the resource
  (name and row id), the Mistral action execution that carries the node and
  the request id of the stack's original request (heat-api's
  ``req-...``), read from the context sealed in the traversal token;
* ``finished`` names the same node and action execution and says how the
  node ended in this engine (SUCCESS, ERROR with the reason, or FENCED: taken
  over by another engine, not reported) and how long
  the engine spent on it. If the result could not be reported to Mistral,
  an ERROR line saying so comes just before it.

``started`` is written once the resource is loaded, so nodes refused
earlier (bad token, stale traversal, row already deleted) only have the
``finished`` line; it is written for every node, including those. Both
lines also carry the request id in oslo.log's context prefix once the token
is opened, but the message names it too, so it survives any
``logging_context_format_string``.
"""

from oslo_log import log as logging

from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)


def started(request, rsrc, stack):
    """Log that ``request`` (a NodeRequest) now runs on ``rsrc``."""
    LOG.info('Node %(name)s (resource %(rid)s, %(kind)s) of stack %(stack)s '
             '%(action)s traversal %(trav)s: started for Mistral action '
             'execution %(ax)s (request %(req)s)',
             {'name': rsrc.name, 'rid': request.resource_id,
              'kind': protocol.node_kind(request.is_update),
              'stack': request.stack_id,
              'action': stack.action, 'trav': request.traversal,
              'ax': request.action_execution_id,
              'req': getattr(stack.context, 'request_id', None)})


def finished(request, outcome, seconds):
    """Log how the node ended; ``outcome`` is the runner's Outcome."""
    if getattr(outcome, 'fenced', False):
        # Not ended in Mistral: another engine took the node over.
        result = 'FENCED, not reported (%s)' % outcome.error
    else:
        result = ('SUCCESS' if outcome.error is None
                  else 'ERROR: %s' % outcome.error)
    LOG.info('Node resource %(rid)s (%(kind)s) of stack %(stack)s traversal '
             '%(trav)s: Mistral action execution %(ax)s ended %(result)s '
             '(%(secs).2f s in this engine)',
             {'rid': request.resource_id,
              'kind': protocol.node_kind(request.is_update),
              'stack': request.stack_id, 'trav': request.traversal,
              'ax': request.action_execution_id, 'result': result,
              'secs': seconds})
