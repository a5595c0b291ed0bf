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

"""Node completions from heat-engine, served in Mistral's engine processes.

Without this, a heat-engine completes each ``heat.run_node`` action
execution through Mistral's API: an HTTP PUT that mistral-api checks,
parses and turns into an RPC call to an engine (``on_action_complete``).
On the critical path of every dependency, that API step cost about 10 ms
of CPU per resource of a chain on a 2-core machine.

With ``[heat_mistral_engine] direct_completions`` (mistral.conf), each
Mistral engine process that has loaded this package's actions serves
``protocol.COMPLETION_METHOD`` on Heat's bus (``transport_url``,
``heat_exchange``) and topic ``completion_topic``, and the action puts that
topic in each node request it sends (``advertised_topic``). heat-engine
calls any engine there with the node it completes; the engine checks in
its database that the action execution is that node's own (the
``heat.run_node`` action of a task of the stack's generated workflow, in
the traversal's namespace: ``direct_completions.node_action_problem``)
and completes it with the same ``DefaultEngine.on_action_complete`` its
own RPC server calls; it completes nothing else, whoever calls. A
heat-engine whose call gets no answer falls back to the API
(``heat.clients.direct_completion``), so an engine process that has not
loaded the actions yet (after a Mistral restart) only delays results.

Only for a Mistral that checks no identity (``patches.direct_completions.
mistral_checks_identities`` false): the API then gives each request the
same anonymous context this server gives each call.
"""

import os
import socket
import threading

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import uuidutils

from heat_mistral_engine.mistral import heat_rpc
from heat_mistral_engine.mistral import options
from heat_mistral_engine.mistral.patches import base
from heat_mistral_engine.mistral.patches import direct_completions
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_server = None
_advertised = {}


def completion_topic(conf=cfg.CONF):
    """The topic engines serve completions on, from ``rpc_topic``."""
    return protocol.completion_topic(conf[options.GROUP].rpc_topic)


def advertised_topic(conf=cfg.CONF):
    """The topic node requests name, or None to complete through the API.

    Decided once per process: the option, the Mistral release and its
    authentication do not change while it runs.
    """
    with _lock:
        if 'topic' not in _advertised:
            _advertised['topic'] = _usable_topic(conf)
        return _advertised['topic']


def _usable_topic(conf):
    if not base.in_mistral_process():
        return None
    options.register_opts(conf)
    if not conf[options.GROUP].direct_completions:
        return None
    if direct_completions.mistral_checks_identities():
        # Expected with Keystone: not worth a warning in every process.
        LOG.info('heat-mistral-engine: heat-engines complete nodes through '
                 'Mistral\'s API, which checks who completes a task ([%s] '
                 'direct_completions applies only with [pecan] auth_enable '
                 '= false).', options.GROUP)
        return None
    problem = direct_completions.incompatibility()
    if problem:
        LOG.warning('heat-mistral-engine: heat-engines complete nodes '
                    'through Mistral\'s API ([%s] direct_completions is '
                    'not applied: %s).', options.GROUP, problem)
        return None
    return completion_topic(conf)


def start(conf=cfg.CONF):
    """Serve completions if this is a Mistral engine process; idempotent.

    Returns the started server, or None (not an engine process, the option
    off, or Mistral not one this was read for).
    """
    global _server
    if _server is not None:
        return _server
    topic = advertised_topic(conf)
    if topic is None or not direct_completions.in_engine_process():
        return None
    with _lock:
        if _server is None:
            group = conf[options.GROUP]
            target = oslo_messaging.Target(
                exchange=group.heat_exchange, topic=topic,
                server='%s-%d' % (socket.gethostname(), os.getpid()),
                version=protocol.COMPLETION_RPC_API_VERSION)
            server = oslo_messaging.get_rpc_server(
                heat_rpc.transport(conf), target, [CompletionEndpoint()],
                executor='threading')
            server.start()
            _server = server
            LOG.info('heat-mistral-engine: this Mistral engine takes '
                     'heat-engines\' node results on topic %s ([%s] '
                     'direct_completions).', topic, options.GROUP)
        return _server


class CompletionEndpoint:
    """oslo.messaging endpoint of ``protocol.COMPLETION_METHOD``."""

    target = oslo_messaging.Target(
        version=protocol.COMPLETION_RPC_API_VERSION)

    # Refusals the caller expects: oslo.messaging logs them at DEBUG, not
    # with a traceback; this endpoint logs its own line.
    @oslo_messaging.expected_exceptions(protocol.ForeignActionExecution)
    def complete_action(self, ctxt, action_execution_id=None, state=None,
                        output=None, stack_id=None, traversal=None,
                        resource_id=None, is_update=None):
        """Complete one node's asynchronous action execution; the caller waits.

        ``state`` SUCCESS or ERROR and ``output`` as sent to the API's
        ``PUT /v2/action_executions/<id>``; ``stack_id``, ``traversal``,
        ``resource_id`` and ``is_update`` name the node (since 1.1). Only
        the node's own action execution, as Mistral's database shows it
        (``direct_completions.node_action_problem``), is completed: any
        other raises ``protocol.ForeignActionExecution``. Returns
        ``{"state": ...}`` of the action execution; raises ValueError for
        a malformed call and what the engine raises (for an action
        execution completed before, Mistral's "is already completed"),
        which the caller receives as a RemoteError.
        """
        if state not in protocol.COMPLETION_STATES:
            raise ValueError('a node result is SUCCESS or ERROR, not %s'
                             % protocol.short(state))
        if not (isinstance(action_execution_id, str) and
                uuidutils.is_uuid_like(action_execution_id)):
            raise ValueError('action_execution_id must be a Mistral id, '
                             'not %s' % protocol.short(action_execution_id))
        try:
            node = protocol.completion_node(
                stack_id=stack_id, traversal=traversal,
                resource_id=resource_id, is_update=is_update)
        except protocol.BadNodeRequest as exc:
            # A caller older than 1.1 names no node: it uses the API.
            raise ValueError(str(exc))
        problem = direct_completions.node_action_problem(
            action_execution_id, node)
        if problem:
            LOG.warning('Refused to complete action execution %s for '
                        'heat-engine as resource %s (%s) of stack %s '
                        'traversal %s: %s', action_execution_id,
                        node['resource_id'],
                        protocol.node_kind(node['is_update']),
                        node['stack_id'], node['traversal'], problem)
            raise protocol.ForeignActionExecution(
                'action execution %s is not the one of resource %s (%s) of '
                'stack %s traversal %s: %s' % (
                    action_execution_id, node['resource_id'],
                    protocol.node_kind(node['is_update']),
                    node['stack_id'], node['traversal'], problem))
        try:
            action_ex = direct_completions.complete_action(
                action_execution_id, state, output)
        except Exception as exc:
            if 'is already completed' in str(exc):
                # Expected (logged by oslo.messaging at DEBUG, not as an
                # error): a call answered too late for its caller, which
                # then used the API.
                raise oslo_messaging.ExpectedException()
            raise
        # INFO, as Mistral's engine logs each on_action_complete it
        # receives from its API: the line that says who completed a node.
        LOG.info('Completed action execution %s (%s) for heat-engine, '
                 'without Mistral\'s API', action_execution_id,
                 action_ex.state)
        return {'state': action_ex.state}
