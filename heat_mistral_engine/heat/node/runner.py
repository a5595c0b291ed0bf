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

"""Run one resource node handed over by Mistral (inside heat-engine).

``NodeRunner.run`` does for one node what Heat's ``CheckResource`` does, with
Heat's own module functions, except that the order and the predecessor data
come from Mistral instead of sync points:

1. open the sealed traversal token (refuse nodes of other stacks or
   traversals) and admit the node (``guard``: current traversal, a node
   of its stored graph); nothing is touched for a refused request, and a
   request whose token does not verify is refused in the log only: the
   action execution it names may be anyone's. A node of the stack's
   current traversal that has completed meanwhile (a re-driven execution,
   ``recovery.redrive``) is answered as done without acting
   (``_answer_completed``);
2. claim the node (``store.claims``): a node Heat already ran or is running
   in this traversal is not run again, the request gets the first run's
   answer (reported to Mistral and fed to the completion point again: the
   first run may have died before it did either). The claim is the run's
   own, held as (engine, atomic key): if a watchdog moves it to another
   engine (this one was taken for dead), the run is fenced (``fence``):
   it does not start the resource action, fail the stack or report;
3. open every predecessor's sealed receipt; a missing, forged or foreign
   one refuses the node and fails the stack with the reason;
4. load the resource with the predecessor data (``Stack.load(cache_data=
   ...)``: get_attr resolves from it, not from the database); fail the
   stack if it timed out;
5. create/update or clean up the resource, replacing it on UpdateReplace and
   waiting for a resource lock held by an earlier traversal (taking it over
   when its engine is dead, as Heat does, and releasing one that this
   engine's own write took as its connection to the database was lost);
6. complete the Mistral action, only if Mistral shows it as the node's own
   (``MistralService.complete_action`` with the node: a request that names
   another is not answered, and nothing is failed for it): SUCCESS with
   the node's sealed receipt
   (``seal``; for create/update the attributes other resources
   reference), or ERROR with Heat's failure reason after marking the stack
   failed exactly as Heat would (rollback included); a failure without
   rollback then ends the traversal's execution in ERROR, so that it does
   not stay RUNNING while other nodes are still in flight (a rollback's new
   traversal cancels it instead);
7. for a root node, sync on the stack's completion point; the last root
   marks the stack complete. Only this step, after Heat ran the node, feeds
   that point: a task Mistral marks SUCCESS by itself never completes a
   stack. A node with operator after hooks (listed in the sealed token)
   also says in its output what Heat did and hands over the attributes the
   hooks listed (``hook_plan``); its completion waits for its hooks
   (``hook_reports``).
"""

import dataclasses
import json
import queue
import time

from heat.common import exception
from heat.engine import check_resource
from heat.engine import node_data
from heat.engine import resource
from heat.engine import scheduler
from heat.engine import stack as heat_stack
from heat.engine import sync_point
from heat.objects import resource as resource_objects
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log as logging

from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.heat.operator_hooks import hook_plan
from heat_mistral_engine.heat.patches import held_locks
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.patches import nested_starter
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine.heat.clients import liveness
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.store import claims
from heat_mistral_engine.heat.node import fence
from heat_mistral_engine.heat.node import guard
from heat_mistral_engine.heat.node import hook_proofs
from heat_mistral_engine.heat.node import log
from heat_mistral_engine.heat.node import seal
from heat_mistral_engine.heat.store import completion
from heat_mistral_engine.heat.store import replacements
from heat_mistral_engine.heat.store import sync_point_data
from heat_mistral_engine.heat.traversal import executions
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine.heat.traversal import handover_delays
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 1.0
CLAIM_POLL_SECONDS = 0.25

# The actions whose lost lock a node releases (``_lost_lock_release``),
# with what the release writes besides ``engine_id``: the state from which
# Heat's action, run again, runs once. A delete runs again from DELETE
# IN_PROGRESS; a create only from INIT COMPLETE, the one state Heat's
# ``Resource.create`` starts from (from CREATE IN_PROGRESS Heat's update
# would find nothing to change and leave it uncreated). An update runs
# again from UPDATE IN_PROGRESS: the lost write kept the old template and
# properties, so Heat's update compares the same definitions and updates
# in place, or asks for a replacement, as the first attempt did; the
# state it overwrote matters only where Heat replaces (FAILED, INIT or
# DELETE COMPLETE), which Heat decides before it takes this lock
# (test_lost_lock_db runs all three on Heat's own database).
LOST_LOCK_RELEASES = {
    resource.Resource.DELETE: {},
    resource.Resource.CREATE: {'action': resource.Resource.INIT,
                               'status': resource.Resource.COMPLETE},
    resource.Resource.UPDATE: {},
}


class _Stop(Exception):
    """The node must end without touching the stack (stale, superseded)."""


class InlineEventDispatch:
    """Stands in for Heat's thread group manager on a node's stack.

    A stack only uses ``thread_group_mgr.start`` in a node to hand each event
    to the environment's event sinks in a new thread. Heat caps a stack's
    thread group at 10 threads, and Mistral runs many nodes of one stack in
    one engine at once, so those threads hit the cap and the resource
    action failed with "Maximum number of threads reached". Running the
    (already error-catching) dispatch inline avoids the cap.
    """

    @staticmethod
    def start(stack_id, func, *args, **kwargs):
        return func(*args, **kwargs)


INLINE_EVENTS = InlineEventDispatch()


def unexpected_reason(request_id):
    """The stack's reason for an unexpected error in heat-engine.

    One sentence with the request id under which the error (and its
    traceback) was logged: an exception's text can hold a client's URL,
    a path or a token, so it is never copied into the reason.
    """
    return ('Unexpected error in heat-engine (details in Heat\'s log, '
            'request %s)' % request_id)


def unreported_reason(request, exc):
    """The stack's reason for a node whose result Mistral did not take.

    ``exc`` is the MistralUnavailable of the report: its details (which
    name Mistral's URL) are logged under its request id, or under a new
    one logged here, and only that id reaches the reason.
    """
    request_id = getattr(exc, 'request_id', None)
    if request_id is None:
        request_id = oslo_context.generate_request_id()
        LOG.warning('[%s] Node %s of stack %s: %s', request_id,
                    request.resource_id, request.stack_id,
                    mistral_api.details(exc))
    return ('Resource %s finished but could not be reported to Mistral '
            '(details in Heat\'s log, request %s)'
            % (request.resource_id, request_id))


@dataclasses.dataclass
class Outcome:
    """What a node ended with: ``output`` on success, else ``error``."""

    output: object = None
    error: str = None
    stack: object = None           # set when the stack may now be complete
    graph_resource_id: int = None  # the node's id in the traversal graph
    stack_failed: bool = False     # this node marked the stack FAILED
    # Set when the answer is an earlier run's (the node ran already): the
    # action execution that run answered.
    replayed_for: str = None
    # The node has operator after hooks: the stack completes after them.
    completion_deferred: bool = False
    # A success that Mistral takes only at the node's own action execution
    # of the traversal's generated workflow, checked before it is sent.
    own_action_only: bool = False
    # False when the request's token did not verify: the action execution
    # it names is not known to be the node's, so the error is only logged.
    reportable: bool = True
    # The node was taken over by another engine (``fence``): this run's
    # result is dropped, the new owner reports the node.
    fenced: bool = False


class NodeRunner:
    """Runs nodes in one heat-engine worker; thread-safe, one per worker."""

    def __init__(self, engine_id, thread_group_mgr, mistral=None):
        self.engine_id = engine_id
        self.thread_group_mgr = thread_group_mgr
        self._mistral = mistral

    @property
    def mistral(self):
        if self._mistral is None:
            self._mistral = mistral_api.MistralService()
        return self._mistral

    def run(self, request, grant=None):
        """Run a validated ``protocol.NodeRequest`` and report to Mistral.

        ``grant`` is the request's opened traversal token, if the caller
        already opened it. Never raises: an unexpected error is reported to
        Mistral as the task's error, so no task is left RUNNING.
        """
        try:
            return self._run(request, grant)
        except Exception as exc:
            return self.fail_unexpectedly(request, exc)

    def fail_unexpectedly(self, request, exc):
        """End the node on an unexpected error: fail its stack and task.

        Must be called from an ``except`` block (logs the traceback).
        """
        request_id = oslo_context.generate_request_id()
        LOG.exception('Node %s of stack %s failed unexpectedly [%s]: %s',
                      request.resource_id, request.stack_id, request_id,
                      exc)
        reason = unexpected_reason(request_id)
        fenced = self._claimed_elsewhere(request)
        if fenced is not None:
            # Another engine owns the node: its run reports it, and this
            # error must not fail the stack under it.
            return self._fenced(request, fenced)
        outcome = Outcome(error=reason, stack_failed=(
            self._fail_node_quietly(request, reason)))
        self._report_error_quietly(request, reason)
        self._end_failed_traversal(request, outcome)
        return outcome

    def _claimed_elsewhere(self, request):
        """A Fenced if another engine holds the node's claim, else None.

        For the error paths outside a run's own checks; any other error
        of the check is logged and taken as "not fenced", as before fencing.
        """
        try:
            grant = traversal_token.open_token(
                request.token, request.stack_id, request.traversal)
            fence.after_finish(grant.context, request, self.engine_id)
        except fence.Fenced as fenced:
            return fenced
        except Exception as exc:
            LOG.warning('Node %s of stack %s: could not read its claim: %s',
                        request.resource_id, request.stack_id, exc)
        return None

    def _fenced(self, request, fenced):
        """The Outcome of a fenced run, logged once: nothing is reported."""
        fence.log_fenced(request, fenced, self.engine_id)
        return Outcome(error=str(fenced), reportable=False, fenced=True)

    def end_unrun(self, request, reason, grant=None):
        """End a node that will not run: report ``reason`` to Mistral.

        With ``grant`` (the request's opened token), a node whose
        traversal has completed meanwhile (its concurrency slots went with
        it) is answered as done instead, as ``run`` answers it.
        """
        if grant is not None and _completed(grant.context, request):
            return self.run(request, grant)
        self._report_error_quietly(request, reason)
        return Outcome(error=reason)

    def _run(self, request, grant=None):
        outcome = self.execute(request, grant)
        if not outcome.reportable:
            return outcome
        handover_delays.pause('node runner: before completing the action')
        try:
            self.mistral.complete_action(
                request.action_execution_id, output=outcome.output,
                error=outcome.error,
                completion_topic=request.completion_topic, node=request,
                check_success=outcome.own_action_only)
        except mistral_api.NotTheNodesAction as exc:
            # Forged or garbled: the node's own action execution gets the
            # answer when its request comes (``claims``); nothing here
            # may fail the stack on the word of such a request.
            LOG.error('Node %s (%s) of stack %s traversal %s: not reported '
                      'to Mistral: %s', request.resource_id,
                      protocol.node_kind(request.is_update),
                      request.stack_id, request.traversal, exc)
            self._end_failed_traversal(request, outcome)
            return outcome
        except mistral_api.MistralUnavailable as exc:
            if (outcome.replayed_for == request.action_execution_id and
                    mistral_api.already_completed(exc)):
                # The same action execution delivered again, and its first
                # answer had reached Mistral.
                LOG.info('Node %s of stack %s: Mistral action execution %s '
                         'had its answer already', request.resource_id,
                         request.stack_id, request.action_execution_id)
                return self._complete(request, outcome)
            LOG.error('Node %s of stack %s: %s', request.resource_id,
                      request.stack_id, mistral_api.details(exc))
            if mistral_api.already_completed(exc):
                reason = ('Resource %s finished, but Mistral action '
                          'execution %s had already been completed by '
                          'someone else than Heat: the stack\'s workflow '
                          'was tampered with' % (request.resource_id,
                                                 request.action_execution_id))
                LOG.error('Stack %s: %s', request.stack_id, reason)
            else:
                reason = unreported_reason(request, exc)
            if outcome.error is None and outcome.stack is not None:
                # Mistral refused the result (too big, malformed, completed
                # by someone else): fail the stack, and end the task in
                # ERROR rather than leave it RUNNING until its timeout.
                outcome = self._fail_node(outcome.stack, reason)
                self._report_error_quietly(request, reason)
            self._end_failed_traversal(request, outcome)
            return outcome
        self._end_failed_traversal(request, outcome)
        return self._complete(request, outcome)

    @staticmethod
    def _complete(request, outcome):
        """After the node's report: feed the stack's completion point."""
        if (outcome.error is None and outcome.stack is not None and
                not outcome.completion_deferred):
            complete_node(outcome.stack, request.traversal,
                          outcome.graph_resource_id, request.is_update)
        return outcome

    @staticmethod
    def _end_failed_traversal(request, outcome):
        """After the node's report: end the execution of a failed stack.

        Only when this node marked the stack FAILED without rollback; a
        rollback's new traversal has already cancelled the execution.
        """
        if outcome.stack_failed:
            executions.traversal_failed(request.stack_id,
                                        request.traversal, outcome.error)

    def _fail_node_quietly(self, request, reason):
        """Mark the node's stack FAILED unless a newer traversal runs.

        Returns True if the stack is now FAILED (no rollback started).
        """
        try:
            grant = traversal_token.open_token(
                request.token, request.stack_id, request.traversal)
            stack = heat_stack.Stack.load(grant.context,
                                          stack_id=request.stack_id,
                                          force_reload=True)
            self._check_current(stack, request)
            failed = fail_stack(stack, reason)
            claims.finish(grant.context, request, self.engine_id,
                          error=reason)
            return failed
        except Exception as exc:
            LOG.error('Node %s of stack %s: could not mark the stack '
                      'failed: %s', request.resource_id, request.stack_id,
                      exc)
            return False

    def _report_error_quietly(self, request, reason):
        """Report ``reason`` to the node's action execution, if it is its.

        Only for a request whose token verifies, and only to the node's
        own action execution (``complete_action``); otherwise only logged.
        """
        try:
            traversal_token.open_token(request.token, request.stack_id,
                                       request.traversal)
        except traversal_token.InvalidToken as exc:
            LOG.error('Node %s of stack %s: the error is not reported to '
                      'Mistral action execution %s (%s)',
                      request.resource_id, request.stack_id,
                      request.action_execution_id, exc)
            return
        try:
            self.mistral.complete_action(
                request.action_execution_id, error=reason,
                completion_topic=request.completion_topic, node=request)
        except mistral_api.MistralUnavailable as exc:
            LOG.error('Node %s of stack %s: could not report the error '
                      'either: %s', request.resource_id, request.stack_id,
                      exc)

    def execute(self, request, grant=None):
        """Do the resource action; return its Outcome (never raises)."""
        try:
            if grant is None:
                grant = traversal_token.open_token(
                    request.token, request.stack_id, request.traversal)
            graph = guard.admit(grant.context, request)
        except traversal_token.InvalidToken as exc:
            # Anyone may send such a request, naming any action execution.
            LOG.error('Refused node %s (%s) of stack %s [action execution '
                      '%s, not told]: %s', request.resource_id,
                      protocol.node_kind(request.is_update),
                      request.stack_id, request.action_execution_id, exc)
            return Outcome(error='Refused by Heat: %s' % exc,
                           reportable=False)
        except guard.Complete:
            return self._answer_completed(grant, request)
        except guard.NotAdmitted as exc:
            LOG.error('Refused node %s (%s) of stack %s: %s',
                      request.resource_id,
                      protocol.node_kind(request.is_update),
                      request.stack_id, exc)
            return Outcome(error='Refused by Heat: %s' % exc)
        except guard.Stale as stop:
            LOG.info('Node %s of stack %s not run: %s',
                     request.resource_id, request.stack_id, stop)
            return Outcome(error=str(stop))
        atomic_key = claims.FRESH_KEY
        earlier = claims.claim(grant.context, request, self.engine_id)
        if earlier is not None and earlier.state == claims.GONE:
            return self._after_claims_gone(grant, request, earlier)
        if earlier is not None:
            answer, atomic_key = self._await_earlier_run(
                grant.context, request, earlier)
            if answer is not None:
                return self._replayed(grant, request, answer)
        try:
            try:
                with lean_defn.node_scope():
                    outcome = self._execute(grant, request, graph,
                                            atomic_key)
            except _Stop as stop:
                LOG.info('Node %s of stack %s not run: %s',
                         request.resource_id, request.stack_id, stop)
                outcome = Outcome(error=str(stop))
            # A compare-and-swap on this run's key: it writes nothing if
            # the claim moved to another engine meanwhile (fenced).
            if not claims.finish(grant.context, request, self.engine_id,
                                 atomic_key, output=outcome.output,
                                 error=outcome.error):
                fence.after_finish(grant.context, request, self.engine_id)
        except fence.Fenced as exc:
            fenced = exc
        else:
            return outcome
        # Logged outside the except block, where oslo.log would append the
        # exception to the line once more.
        return self._fenced(request, fenced)

    def _after_claims_gone(self, grant, request, gone):
        """The Outcome of a node whose claims Heat deleted as it claimed.

        The node's claim existed when this request tried to claim it and
        was gone when read (``claims.GONE``): the traversal ended in
        between. A traversal driven again completes so while its new
        execution's requests arrive; their nodes all ran, and each is
        answered as a node of the completed traversal
        (``_answer_completed``), as when the request comes a moment later.
        A superseded or failed traversal's node ends in error, as before.
        """
        try:
            guard.admit(grant.context, request)
        except guard.Complete:
            return self._answer_completed(grant, request)
        except (guard.Stale, guard.NotAdmitted) as exc:
            return Outcome(error=str(exc))
        return Outcome(error=gone.error)

    @staticmethod
    def _answer_completed(grant, request):
        """The Outcome of a node of the stack's completed traversal.

        A traversal driven again (``recovery.redrive``) may complete while
        its new execution runs: the stalled execution's last nodes finish
        in Heat, and the new execution then sends nodes that all ran, whose
        claims Heat deleted with the traversal's sync points. Refusing them
        ended the new execution ERROR for a healthy stack. Such a node is
        answered SUCCESS with its receipt, without node data (no node of a
        complete traversal runs again, so none reads it), once
        ``guard.admit_completed`` admits it and its predecessors' receipts
        open; only the node's own action execution of the traversal's
        generated workflow takes it (``own_action_only``). Nothing is
        acted on, and the completion point is not fed: the stack is
        complete.
        """
        try:
            graph = guard.admit_completed(grant.context, request)
            guard.open_predecessors(request, graph)
        except guard.Stale as stop:
            LOG.info('Node %s of stack %s not run: %s',
                     request.resource_id, request.stack_id, stop)
            return Outcome(error=str(stop))
        except (guard.NotAdmitted, seal.InvalidReceipt) as exc:
            LOG.error('Refused node %s (%s) of stack %s: %s',
                      request.resource_id,
                      protocol.node_kind(request.is_update),
                      request.stack_id, exc)
            return Outcome(error='Refused by Heat: %s' % exc)
        LOG.info('Node %s (%s) of stack %s: traversal %s is already '
                 'complete; answered as done without acting',
                 request.resource_id, protocol.node_kind(request.is_update),
                 request.stack_id, request.traversal)
        return Outcome(output=_receipt(request), own_action_only=True)

    @staticmethod
    def _replayed(grant, request, answer):
        """An earlier run's Outcome, made ready to complete the stack.

        Its run may have ended before it reached Mistral or the stack's
        completion point (its engine died in between, or Mistral was down
        until the report's retries ran out); the watchdog then hands the
        same action execution to another engine. The answer goes to Mistral
        again, and a successful one to the completion point, which counts
        each root once.
        """
        if answer.error is not None or answer.replayed_for is None:
            return answer
        answer.stack = heat_stack.Stack.load(
            grant.context, stack_id=request.stack_id, force_reload=True)
        answer.graph_resource_id = request.resource_id
        answer.completion_deferred = protocol.data_key(
            request.resource_id, request.is_update) in (
                grant.after_hooks or {})
        return answer

    def _await_earlier_run(self, cnxt, request, earlier):
        """The Outcome of the node's earlier run, once it has ended.

        Returns (Outcome, None), or (None, atomic key of the claim) when
        this engine took the node over from a dead engine and must run it.
        """
        if (earlier.state == claims.ADOPTED and
                earlier.engine == self.engine_id):
            # This engine's watchdog handed the node over to it from a
            # dead engine (``claims.hand_over``): this request runs it,
            # unless another request of the node started it first.
            atomic_key = claims.take_over(cnxt, request, earlier,
                                          self.engine_id)
            if atomic_key is not None:
                return None, atomic_key
            earlier = claims.get(cnxt, request) or earlier
        LOG.warning('Node %s (%s) of stack %s traversal %s was already '
                    'claimed for Mistral action execution %s; action '
                    'execution %s gets the answer of that run',
                    request.resource_id, protocol.node_kind(request.is_update),
                    request.stack_id, request.traversal,
                    earlier.action_execution, request.action_execution_id)
        while earlier.state in claims.IN_FLIGHT:
            if earlier.engine != self.engine_id and liveness.is_dead(
                    cnxt, earlier.engine, self.engine_id):
                atomic_key = claims.take_over(cnxt, request, earlier,
                                              self.engine_id)
                if atomic_key is not None:
                    LOG.warning('Node %s of stack %s: engine %s that ran it '
                                'is gone; running it again',
                                request.resource_id, request.stack_id,
                                earlier.engine)
                    return None, atomic_key
            time.sleep(CLAIM_POLL_SECONDS)
            # The claim first: the traversal may end right after the run
            # the request waits for, and that run's answer is still due.
            waited_for, earlier = earlier, claims.get(cnxt, request)
            if earlier is None:
                # Heat deleted the claims with the traversal (it completed
                # right after that run, or was replaced): the run reported
                # to Mistral before that.
                return self._answer_in_mistral(request, waited_for), None
            if earlier.state in claims.IN_FLIGHT:
                try:
                    guard.admit(cnxt, request)
                except (guard.Stale, guard.NotAdmitted) as exc:
                    return Outcome(error=str(exc)), None
        if earlier.state == claims.SUCCESS:
            return Outcome(output=earlier.output,
                           replayed_for=earlier.action_execution), None
        return Outcome(error=earlier.error or 'the node failed',
                       replayed_for=earlier.action_execution), None

    def _answer_in_mistral(self, request, claim):
        """The Outcome the run ``claim`` recorded, as Mistral holds it.

        A successful answer is passed on only if it is that node's receipt,
        sealed by heat-engine.
        """
        gone = ('the traversal ended before the node\'s earlier run '
                'answered')
        try:
            state, result = self.mistral.action_result(
                claim.action_execution)
        except mistral_api.MistralUnavailable as exc:
            return Outcome(error='%s (%s)' % (gone, exc))
        found = result if isinstance(result, dict) else {}
        if state == 'SUCCESS':
            try:
                seal.open_receipt(
                    found.get('node'), request.stack_id, request.traversal,
                    request.resource_id, request.is_update)
            except seal.InvalidReceipt as exc:
                return Outcome(error='Refused by Heat: the earlier run\'s '
                                     'answer in Mistral: %s' % exc)
            return Outcome(output=result,
                           replayed_for=claim.action_execution)
        if state == 'ERROR':
            reason = found.get('reason') if found else result
            return Outcome(error=str(reason or 'the node failed'),
                           replayed_for=claim.action_execution)
        return Outcome(error=gone)

    def _execute(self, grant, request, graph, claim_key):
        """Run the node on claim key ``claim_key``; returns its Outcome.

        :raises fence.Fenced: the claim moved to another engine before the
            action started, or before a failure would fail the stack.
        :raises _Stop: the node must end without touching the stack.
        """
        cnxt = grant.context

        def fail(stack, reason):
            # A failure fails the stack only while the run owns the node,
            # or, its claim gone with a traversal that a newer one
            # replaced, goes to Heat's mark_failed as native Heat's
            # superseded worker's does (which only adds the stack's event).
            fence.check_failure(
                cnxt, request, self.engine_id, claim_key,
                lambda: replaced(cnxt, request))
            return self._fail_node(stack, reason)
        try:
            predecessors = guard.open_predecessors(request, graph)
        except seal.InvalidReceipt as exc:
            reason = 'Refused by Heat: %s' % exc
            LOG.error('Refused node %s (%s) of stack %s: %s',
                      request.resource_id,
                      protocol.node_kind(request.is_update),
                      request.stack_id, exc)
            stack = heat_stack.Stack.load(cnxt, stack_id=request.stack_id,
                                          force_reload=True)
            self._check_current(stack, request)
            return fail(stack, reason)
        in_data = sync_point_data.unpack(predecessors)
        resource_data = node_data.load_resources_data(in_data)
        rsrc, stack = self._load(cnxt, request, request.resource_id,
                                 resource_data)
        hooked = (grant.after_hooks or {}).get(
            protocol.data_key(request.resource_id, request.is_update))
        if rsrc is None:
            # The row is gone (deleted by an earlier traversal): done.
            stack = heat_stack.Stack.load(cnxt, stack_id=request.stack_id,
                                          force_reload=True)
            self._check_current(stack, request)
            output = _receipt(request)
            if hooked is not None:
                output['hook'] = operator_hooks.resource_input(
                    stack.id, stack.name, None, None, None)
            return Outcome(output=output, stack=stack,
                           graph_resource_id=request.resource_id,
                           completion_deferred=hooked is not None)
        try:
            hook_proofs.check_before(cnxt, grant, request, rsrc.name,
                                     self.mistral)
        except hook_proofs.Unproven as exc:
            LOG.error('Refused node %s (%s) of stack %s traversal %s: %s '
                      '[%s]', request.resource_id,
                      protocol.node_kind(request.is_update),
                      request.stack_id, request.traversal, exc, exc.details)
            return fail(stack, str(exc))
        log.started(request, rsrc, stack)
        if stack.has_timed_out():
            return fail(stack, 'Timed out')

        before = hook_plan.snapshot(rsrc)
        msg_queue = queue.Queue()
        self.thread_group_mgr.add_msg_queue(stack.id, msg_queue)
        try:
            # A nested stack's action this one starts records it as its
            # starter (nested_link links the nested execution to it).
            with nested_starter.acting(request.stack_id, request.traversal,
                                       request.action_execution_id):
                rsrc, stack = self._act(cnxt, request, grant, rsrc, stack,
                                        resource_data, msg_queue, claim_key)
            data = None
            if request.is_update:
                data = _serialise(rsrc.node_data().as_dict())
            output = _receipt(request, data)
            if hooked is not None:
                output['hook'] = hook_plan.report(
                    stack, rsrc,
                    hook_plan.happened(before, rsrc, request.is_update),
                    hooked)
            too_big = oversized(output, data,
                                cfg.CONF.mistral_scheduler.max_node_data_kb)
            if too_big:
                return fail(stack, 'Resource %s %s' % (rsrc.name, too_big))
            if request.is_update:
                rsrc.store_attributes()
        except exception.ResourceFailure as exc:
            return fail(stack, 'Resource %s failed: %s'
                        % (exc.action or rsrc.action, exc))
        except scheduler.Timeout:
            return fail(stack, 'Timed out')
        except check_resource.CancelOperation:
            raise _Stop('resource %s %s was cancelled'
                        % (rsrc.name, rsrc.action))
        except (_Stop, fence.Fenced):
            raise
        except Exception as exc:
            request_id = oslo_context.generate_request_id()
            LOG.exception('Unexpected error in node %s of stack %s [%s]: %s',
                          rsrc.name, stack.id, request_id, exc)
            return fail(stack, unexpected_reason(request_id))
        finally:
            self.thread_group_mgr.remove_msg_queue(None, stack.id, msg_queue)
        return Outcome(output=output, stack=stack,
                       graph_resource_id=request.resource_id,
                       completion_deferred=hooked is not None)

    def _load(self, cnxt, request, resource_id, resource_data):
        rsrc, _defn, stack = check_resource.load_resource(
            cnxt, resource_id, resource_data, request.traversal,
            request.is_update)
        if rsrc is not None:
            if stack.id != request.stack_id:
                # guard admitted only nodes of the stack's graph; a
                # resource row of another stack is never acted on.
                raise _Stop('resource %s is not in stack %s'
                            % (resource_id, request.stack_id))
            self._check_current(stack, request)
            stack.thread_group_mgr = INLINE_EVENTS
        return rsrc, stack

    @staticmethod
    def _check_current(stack, request):
        reason = superseded(stack, request)
        if reason:
            raise _Stop(reason)

    def _act(self, cnxt, request, grant, rsrc, stack, resource_data,
             msg_queue, claim_key):
        """Run the action until done; returns the (new) resource and stack.

        The action starts only while the run owns the node's claim
        (``fence.check``, raising ``fence.Fenced``): an engine that was
        taken for dead and comes back must not act again. Checked once
        before the first start (the one read a node pays) and around a
        wait for the resource's lock; not before a replacement's create,
        which follows at once the ``UpdateReplace`` Heat raises before it
        acts.
        """
        requires = {d.primary_key for d in resource_data.values()
                    if d is not None}
        fence.check(cnxt, request, self.engine_id, claim_key)
        while True:
            rsrc.converge = grant.converge
            try:
                if request.is_update:
                    check_resource.check_resource_update(
                        rsrc, stack.t.id, requires, self.engine_id,
                        stack, msg_queue)
                else:
                    check_resource.check_resource_cleanup(
                        rsrc, stack.t.id, self.engine_id, stack,
                        msg_queue)
                return rsrc, stack
            except resource.UpdateReplace:
                new_id = self._make_replacement(rsrc, stack, requires)
                LOG.info('Replacing resource %s (%s) with %s', rsrc.name,
                         rsrc.id, new_id)
                rsrc, stack = self._load(cnxt, request, new_id,
                                         resource_data)
            except exception.UpdateInProgress:
                # Also what Heat raises when another engine took the
                # resource's lock from this one: if that engine took
                # the node over, this run is fenced, and must not wait
                # for it.
                fence.check(cnxt, request, self.engine_id, claim_key)
                self._wait_for_lock(cnxt, rsrc, stack, request)
                # The wait may have lasted: the node may be taken over
                # by now.
                fence.check(cnxt, request, self.engine_id, claim_key)
                rsrc, stack = self._load(cnxt, request, rsrc.id,
                                         resource_data)
            if rsrc is None:
                raise _Stop('resource %s disappeared'
                            % request.resource_id)

    @staticmethod
    def _make_replacement(rsrc, stack, requires):
        new_id = replacements.make_replacement(rsrc, stack.t.id, requires)
        if new_id is None:
            raise _Stop('a newer traversal already replaces resource %s'
                        % rsrc.name)
        return new_id

    def _wait_for_lock(self, cnxt, rsrc, stack, request):
        """Wait until no engine holds the resource's lock.

        The holder is an earlier traversal's action still running (for
        example a create interrupted by delete). A dead holder's lock is
        taken over and the resource marked FAILED, as Heat's own
        ``_stale_resource_needs_retry`` does. A live holder's action is
        first asked to give way with the resource's ``handle_preempt``, as
        Heat's ``CheckResource`` does: a nested stack cancels its running
        update, without rollback, instead of finishing it.

        A lock of this very engine that no thread of this worker holds, a
        commit lost with its connection (``_lost_lock_release``), is
        released at once, so that the caller runs the action, which has not
        started, once.
        """
        preempted = False
        while True:
            row = resource_objects.Resource.get_obj(
                cnxt, rsrc.id, refresh=True,
                fields={'engine_id', 'action', 'status', 'atomic_key'})
            holder = row.engine_id
            if holder is None:
                return
            if holder == self.engine_id:
                values = self._lost_lock_release(rsrc, row)
                if values is not None:
                    LOG.warning('Resource %s (%s) of stack %s: its lock was '
                                'taken for this engine by a write whose '
                                'connection to the database was lost, and '
                                'this worker does not hold it; released, '
                                'the %s runs now', rsrc.name, rsrc.id,
                                stack.id, rsrc.action)
                    if row.select_and_update(
                            values, expected_engine_id=self.engine_id,
                            atomic_key=row.atomic_key):
                        return
                    # The row changed since it was read: read it again.
                    continue
            elif liveness.is_dead(cnxt, holder, self.engine_id):
                row.update_and_save({'engine_id': None})
                rsrc.state_set(rsrc.action, rsrc.FAILED,
                               'Worker went down during resource %s'
                               % rsrc.action)
                return
            if not preempted:
                preempted = True
                _preempt(rsrc)
            if stack.has_timed_out():
                raise scheduler.Timeout(rsrc, stack.timeout_secs())
            time.sleep(LOCK_POLL_SECONDS)
            latest = heat_stack.Stack.load(cnxt, stack_id=stack.id,
                                           force_reload=True)
            self._check_current(latest, request)

    def _lost_lock_release(self, rsrc, row):
        """What releases this engine's lock on ``row`` as a lost commit.

        Heat takes a resource's lock with a compare-and-swap (``engine_id``
        None to this engine), which Heat's ``retry_on_db_error`` retries on
        a lost connection. When the server had applied the write before
        the connection was lost, the retry finds the lock taken, by this
        engine, and Heat raises ``UpdateInProgress`` although the action
        never started: native Heat, and this runner before, then waited
        for that lock until the stack timed out (issue 26: mid-delete, a
        MariaDB restart).

        Every holder of this engine id is this worker process (a restarted
        worker gets a new one), and ``held_locks`` knows each lock this
        process took and still holds, Heat's native traversals' and
        ``Resource.lock()``'s included: a lock of this engine it does not
        hold is no one's. Returns the values (``engine_id`` None, and the
        state from which Heat's action, run again, runs once) that release
        it, or None (wait for it) when:

        * this process holds the lock (``held_locks.holds``), or is taking
          it: a node or a native action runs under it;
        * or the row's state does not say which write took it. Heat's
          ``state_set`` set ``rsrc``'s state to the action's IN_PROGRESS
          before its write was refused: the row must be IN_PROGRESS in
          that action, a delete, a create or an update
          (``LOST_LOCK_RELEASES``), so a lock left IN_PROGRESS by another
          action (a check, a suspend) never is released. Heat's
          ``Resource.lock()`` (before a replacement's
          ``prepare_for_replace``) writes no state: ``rsrc`` is not
          IN_PROGRESS, and the row must be in ``rsrc``'s state, which the
          release keeps.
        """
        if held_locks.holds(self.engine_id, rsrc.id):
            return None
        if (row.action, row.status) != (rsrc.action, rsrc.status):
            return None
        if rsrc.status != rsrc.IN_PROGRESS:
            return {'engine_id': None}
        if rsrc.action not in LOST_LOCK_RELEASES:
            return None
        return dict(LOST_LOCK_RELEASES[rsrc.action], engine_id=None)

    def fail_traversal(self, stack, reason):
        """Fail the stack (``fail_stack``) and end its traversal's execution.

        For callers outside a node's run (nodes waiting for a slot, operator
        hook reports), which have no node report to send to Mistral first.
        Returns the Outcome of a node that failed the stack this way.
        """
        failed_traversal = stack.current_traversal
        outcome = self._fail_node(stack, reason)
        if outcome.stack_failed:
            executions.traversal_failed(stack.id, failed_traversal, reason)
        return outcome

    @staticmethod
    def _fail_node(stack, reason):
        """The Outcome of a node that fails its stack with ``reason``.

        ``stack_failed`` says whether the stack is now FAILED for this
        traversal (``fail_stack``); the execution is ended after the
        node's report (``_end_failed_traversal``).
        """
        return Outcome(error=reason, stack_failed=fail_stack(stack, reason))


def fail_stack(stack, reason, rollback=True):
    """Mark ``stack`` FAILED with ``reason``, as Heat does.

    The one way this package fails a stack. ``stack`` is a loaded Heat
    ``Stack``; its events are dispatched inline (``INLINE_EVENTS``).

    * ``rollback`` (a resource failed, timed out or was refused, an
      operator hook failed): Heat's ``Stack.mark_failed``, as for a failed
      resource: a rollback traversal starts if the stack has rollback
      enabled, and nothing changes if a newer traversal runs.
    * not ``rollback`` (the orphan check: Mistral lost the traversal):
      Heat's ``reset_stack_and_resources_in_progress``, as Heat does for a
      stack whose engine died: the stack and its IN_PROGRESS resources
      FAILED, no rollback. The caller checks the traversal first.

    Returns True when the stack is now FAILED for this traversal; False
    when a newer traversal runs or a rollback started instead. The
    traversal's Mistral execution is left to the caller
    (``NodeRunner.fail_traversal``, ``executions.traversal_failed``).
    """
    stack.thread_group_mgr = INLINE_EVENTS
    if not rollback:
        stack.reset_stack_and_resources_in_progress(reason)
        return True
    if not stack.mark_failed(reason):
        LOG.info('Stack %s: failure "%s" ignored, a newer traversal '
                 'runs', stack.id, reason)
        return False
    return stack.status == stack.FAILED


def complete_node(stack, traversal, resource_id, is_update):
    """Feed the stack's completion point with a node that is done.

    Only root nodes count; the last one marks the stack complete
    (``store.completion``, in place of Heat's ``check_stack_complete``),
    but only once every operator after hook of the traversal is proven
    (``hook_proofs.after_problem``); otherwise it fails the stack, as for
    a failed resource, with the reason, and ends the traversal's execution.
    """
    try:
        completion.root_done(
            stack, traversal, resource_id, is_update,
            guard.TRAVERSAL_GRAPHS.of(stack, traversal),
            ready=lambda: hook_proofs.after_problem(
                stack, traversal, mistral_api.MistralService))
    except completion.NotReady as exc:
        cause = exc.__cause__
        LOG.error('Stack %s traversal %s not completed: %s [%s]', stack.id,
                  traversal, exc, getattr(cause, 'details', None))
        reason = str(exc)
        if fail_stack(stack, reason):
            executions.traversal_failed(stack.id, traversal, reason)


def _preempt(rsrc):
    """Ask the earlier traversal's action on ``rsrc`` to give way.

    Heat's ``Resource.handle_preempt`` (a nested stack cancels its update);
    a failure only means the wait for the lock is longer, so it is logged.
    """
    try:
        rsrc.handle_preempt()
    except Exception:
        LOG.exception('Resource %s: the earlier traversal\'s action could '
                      'not be pre-empted; waiting for it to finish',
                      rsrc.name)


def _completed(cnxt, request):
    """True if ``request``'s traversal is the stack's current, complete one."""
    try:
        guard.admit(cnxt, request)
    except guard.Complete:
        return True
    except Exception:
        return False
    return False


def replaced(cnxt, request):
    """True if a newer traversal is the stack's current one (its row).

    False when the stack's row is gone or has no current traversal.
    """
    row = stack_row.traversal_state(cnxt, request.stack_id)
    return bool(row is not None and row.current_traversal and
                row.current_traversal != request.traversal)


def superseded(stack, request):
    """Why ``request``'s traversal is no longer the stack's, or None."""
    if stack.current_traversal == request.traversal:
        return None
    return ('traversal %s of stack %s was superseded by %s'
            % (request.traversal, request.stack_id,
               stack.current_traversal or '(none)'))


def oversized(output, data, limit_kb):
    """Why a node's action output is too big for Mistral, or None.

    ``output`` is what Mistral carries (the sealed receipt), ``data`` the
    node data sealed in it. Names the largest attribute, since that is
    what the template author has to change.
    """
    size = len(json.dumps(output))
    if size <= limit_kb * 1024:
        return None
    attrs = (data or {}).get('attrs') or {}
    sizes = {key: len(json.dumps(value)) for key, value in attrs.items()}
    largest = ''
    if sizes:
        key = max(sizes, key=sizes.get)
        largest = ' (attribute %s: %.1f KiB)' % (key, sizes[key] / 1024.0)
    return ('hands %.1f KiB of sealed node data to its dependents%s; '
            'Mistral carries at most %d KiB per resource '
            '([mistral_scheduler] max_node_data_kb)'
            % (size / 1024.0, largest, limit_kb))


def _receipt(request, data=None):
    """The action output of a completed node: its sealed receipt."""
    return {'node': seal.seal(request.stack_id, request.traversal,
                              request.resource_id, request.is_update,
                              data)}


def _serialise(data):
    """NodeData dict -> JSON-safe dict (tuple attribute keys packed)."""
    return sync_point.serialize_input_data({'n': data})['input_data']['n']
