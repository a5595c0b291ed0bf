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

"""End the Mistral executions of traversals Heat has stopped (heat-engine).

Whenever Heat stops a traversal, no execution may stay RUNNING for it. A
new traversal (update, delete, rollback) cancels the older ones when it
starts (``starter.start``); Heat's ``stop_traversal`` (cancel without
rollback, delete while in progress) ends them through
``traversals_stopped`` (called by the ``stop_traversal`` patch); a failure
without rollback (a failed resource, a timeout) through
``traversal_failed`` (called when a node fails its stack).
"""

import json

from heat.engine import stack as heat_stack
from heat.objects import stack as stack_objects
from oslo_log import log as logging

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.traversal import handover_delays

LOG = logging.getLogger(__name__)

# The states an execution of a traversal Heat has stopped ends in.
CANCELLED = 'CANCELLED'
ERROR = 'ERROR'


def supersede(stack_id, traversal, is_current, reason, service=None):
    """End the running executions of the stack's other traversals.

    For ``traversal``'s start. Only a traversal that is still the stack's
    current one may end others: the running executions are listed first,
    then ``is_current()`` (which reads the stack's row) is asked, and only
    if it says yes are the listed executions of other traversals
    cancelled with ``reason``. A start that a newer traversal has already
    superseded could otherwise cancel the newer traversal's execution.
    Heat stores a traversal as current before starting it, so an
    execution listed here whose traversal is newer than ``traversal``
    is always seen by the check that follows the listing.

    Returns the ids of the executions ended, or None if ``traversal`` is
    no longer current (nothing was ended). Raises MistralUnavailable.
    """
    service = service or mistral_api.MistralService()
    running = _running(service, stack_id)
    handover_delays.pause('traversal start: between listing and ending '
                          'earlier executions')
    if not is_current():
        return None
    return _end(service, stack_id, running,
                lambda other: other != traversal, CANCELLED, reason)


def end_executions(stack_id, select, state, reason, service=None):
    """End the stack's running executions whose traversal ``select`` takes.

    ``select`` is called with each RUNNING or PAUSED execution's traversal
    id; the executions it returns True for end in ``state`` (CANCELLED or
    ERROR) with ``reason`` as their state_info. Their tasks still running
    finish when heat-engine reports them, but Mistral starts no successor:
    no resource action of that traversal begins any more. Returns the ids
    of the executions ended; raises MistralUnavailable.
    """
    service = service or mistral_api.MistralService()
    return _end(service, stack_id, _running(service, stack_id), select,
                state, reason)


def _running(service, stack_id):
    """The stack's RUNNING or PAUSED executions (none if never started)."""
    try:
        return service.running_executions(workflow.workflow_name(stack_id))
    except mistral_api.MistralUnavailable as exc:
        if 'not found' in mistral_api.details(exc).lower():
            return []   # no traversal of this stack ever went to Mistral
        raise


def _end(service, stack_id, running, select, state, reason):
    ended = []
    for execution in running:
        traversal = _execution_traversal(execution)
        if not select(traversal):
            continue
        _stop(service, stack_id, execution.id, traversal, state, reason)
        ended.append(execution.id)
    return ended


def _stop(service, stack_id, execution_id, traversal, state, reason):
    """Log, then end one execution in ``state``; raises MistralUnavailable."""
    LOG.info('Stack %(stack)s: ending Mistral execution %(ex)s of '
             'traversal %(trav)s as %(state)s: %(reason)s',
             {'stack': stack_id, 'ex': execution_id, 'trav': traversal,
              'state': state, 'reason': reason})
    service.stop_execution(execution_id, state, reason)


def withdraw(stack_id, traversal, execution_id, service=None):
    """Cancel the execution a start made for a traversal superseded meanwhile.

    For a start that finds, after starting ``execution_id``, that its
    traversal is no longer the stack's current one: the newer traversal's
    start may have listed the executions before this one existed. Logs
    instead of raising: if Mistral cannot be reached, the newer start may
    have cancelled it already, and if not, its nodes are refused as stale.
    """
    service = service or mistral_api.MistralService()
    try:
        _stop(service, stack_id, execution_id, traversal, CANCELLED,
              'Traversal %s of the stack was superseded while it started'
              % traversal)
    except mistral_api.MistralUnavailable as exc:
        LOG.warning('Stack %s: could not cancel execution %s: %s',
                    stack_id, execution_id, exc)


def end_executions_quietly(stack_id, select, state, reason):
    """``end_executions`` for Heat's stop paths: logs instead of raising.

    Heat's own cancel, delete or failure must not fail because Mistral is
    unreachable; the execution's remaining nodes are then refused as stale
    instead, and the execution ends when they have been.
    """
    try:
        return end_executions(stack_id, select, state, reason)
    except Exception as exc:
        LOG.error('Stack %s: could not end the Mistral execution of a '
                  'stopped traversal (its remaining nodes will be refused): '
                  '%s', stack_id, exc)
        return []


def stacks_running(stack):
    """Ids of ``stack`` and its descendants that are IN_PROGRESS.

    Taken before Heat's ``stop_traversal``, which stops exactly these.
    """
    ids = [stack.id]
    for child in stack_objects.Stack.get_all_by_root_owner_id(
            stack.context, stack.id):
        if child.status == heat_stack.Stack.IN_PROGRESS:
            ids.append(child.id)
    return ids


def traversals_stopped(stack, stack_ids):
    """End the executions of traversals Heat's ``stop_traversal`` stopped.

    Called after it, with ``stacks_running`` taken before it. Each stack's
    executions for anything but its (new) current traversal are cancelled,
    with the stack's status reason (``Stack CREATE cancelled``).
    """
    rows = {stack.id: stack}
    if len(stack_ids) > 1:
        try:
            rows.update((child.id, child) for child in
                        stack_objects.Stack.get_all_by_root_owner_id(
                            stack.context, stack.id))
        except Exception as exc:
            # Heat's stop already happened; the nested executions' nodes
            # are refused as stale instead.
            LOG.error('Stack %s: could not read its nested stacks to end '
                      'their Mistral executions: %s', stack.id, exc)
    for stack_id in stack_ids:
        row = rows.get(stack_id)
        if row is None:
            continue
        current = row.current_traversal
        end_executions_quietly(
            stack_id, lambda traversal, current=current: traversal != current,
            CANCELLED, row.status_reason or 'Stack traversal stopped')


def traversal_failed(stack_id, traversal, reason):
    """End the execution of ``traversal`` that Heat marked FAILED.

    For a failure without rollback (a rollback starts a new traversal,
    which supersedes the execution itself): without this, the execution
    would stay RUNNING until every node still in flight had finished.
    """
    end_executions_quietly(stack_id, lambda t: t == traversal, ERROR, reason)


def _execution_traversal(execution):
    value = getattr(execution, 'input', None)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return (value or {}).get('traversal')
