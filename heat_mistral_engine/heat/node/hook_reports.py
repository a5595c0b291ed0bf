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

"""Act on operator hook reports from Mistral (inside heat-engine).

A report (``protocol.HookReport``, sent by the ``heat.hook_report`` action
of the tasks ``graph.hook_tasks`` adds) either

* names a hook that failed or timed out: the stack fails as for a failed
  resource (rollback included when enabled), its reason naming the hook,
  the resource, the action and the hook workflow's own message; or
* hands over the receipt of a node whose after hooks are done: the node
  now counts for the stack's completion (the node deferred it).

Like node requests, a report acts only with a traversal token that opens
for its stack and traversal, and only while that traversal is the stack's
current one; a completion also needs the node's receipt, which only a
heat-engine that ran the node sealed, and the node must be one the token
lists as having after hooks. Failing a stack needs the token only: anyone
who can read the workflow's input in Mistral can already fail the stack
by failing one of its tasks, so this grants nothing new.
"""

from heat.engine import stack as heat_stack
from oslo_log import log as logging

from heat_mistral_engine.heat.node import hook_proofs
from heat_mistral_engine.heat.node import runner
from heat_mistral_engine.heat.node import seal
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

TIMEOUT_MARK = 'timed out'


def failure_reason(report, resource_name=None):
    """The stack's status reason for a failed hook.

    ``Operator hook NAME after create of RESOURCE failed: MESSAGE``, or
    ``... timed out after N seconds: MESSAGE`` when Mistral's task timeout
    ended it. MESSAGE is the hook workflow's own error (its ``fail``
    message, or what its failed task said) when Mistral gives one, else
    the hook task's state info. RESOURCE is ``resource_name``, read by
    heat-engine from the resource row (reports carry only the id), else the
    resource id.
    """
    message = (workflow_error(report.details) or report.error or
               'no message').strip()
    what = 'Operator hook %s %s %s of %s' % (
        report.hook, report.when or '', report.action or 'action',
        resource_name or report.resource_id)
    if report.timeout and TIMEOUT_MARK in message.lower():
        return '%s timed out after %d seconds: %s' % (what, report.timeout,
                                                      message)
    return '%s failed: %s' % (what, message)


def workflow_error(details):
    """The failed sub-workflow's message in a hook task's result, or None.

    Mistral makes a failed workflow's output ``{"result": message}``; a
    with-items task's result is the list of its sub-workflows' outputs.
    """
    items = details if isinstance(details, list) else [details]
    messages = [str(item['result']) for item in items
                if isinstance(item, dict) and item.get('result')]
    return '; '.join(messages) or None


def handle(node_runner, report):
    """Act on a parsed ``protocol.HookReport``; never raises."""
    try:
        _handle(node_runner, report)
    except Exception:
        LOG.exception('Stack %s: could not act on the operator hook report '
                      'for resource %s', report.stack_id, report.resource_id)


def _handle(node_runner, report):
    try:
        grant = traversal_token.open_token(report.token, report.stack_id,
                                           report.traversal)
    except traversal_token.InvalidToken as exc:
        LOG.error('Refused an operator hook report for stack %s: %s',
                  report.stack_id, exc)
        return
    stack = heat_stack.Stack.load(grant.context, stack_id=report.stack_id,
                                  force_reload=True)
    stale = runner.superseded(stack, report)
    if stale or stack.status != stack.IN_PROGRESS:
        LOG.info('Operator hook report for stack %s ignored: %s',
                 report.stack_id, stale or 'the stack is %s %s'
                 % (stack.action, stack.status))
        return
    if report.failed:
        reason = failure_reason(report, hook_proofs.resource_name(
            grant.context, report.resource_id))
        LOG.error('Stack %s: %s', stack.id, reason)
        node_runner.fail_traversal(stack, reason)
        return
    key = protocol.data_key(report.resource_id, report.is_update)
    if key not in (grant.after_hooks or {}):
        LOG.error('Refused an operator hook report for stack %s: resource '
                  '%s has no after hooks in traversal %s', stack.id,
                  report.resource_id, report.traversal)
        return
    try:
        seal.open_receipt(report.receipt, report.stack_id,
                          report.traversal, report.resource_id,
                          report.is_update)
    except seal.InvalidReceipt as exc:
        reason = 'Refused by Heat: %s' % exc
        LOG.error('Stack %s: %s', stack.id, reason)
        node_runner.fail_traversal(stack, reason)
        return
    runner.complete_node(stack, report.traversal, report.resource_id,
                         report.is_update)
