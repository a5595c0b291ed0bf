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

"""Drive a traversal again whose Mistral execution lost its progress.

When a Mistral engine is killed before it starts a task, or the broker
loses a ``start_task`` cast, the execution stays RUNNING with tasks left
IDLE and joins WAITING: nothing will move it on (the orphan check finds it
``stalled``). The traversal itself is intact in Heat: its workflow
definition (``heat_stack_<stack id>`` in the namespace named after the
traversal), its input (stack, traversal, sealed token) and each node's
claim (``store.claims``). So the traversal is driven again: the stalled
execution is cancelled, then a fresh execution of the same definition
starts with the same input. A node that already ran answers from its
claim at once with its stored output, which its successors read as
before, and the completion point counts each root once; a node still
running is waited for; only the rest runs.

One traversal never has two live executions: of the orphan checks of all
engines, only the one that claims the re-drive on the traversal's mark
(``traversal_mark.claim_redrive``, a compare-and-swap) acts; it cancels
before it starts; a start that finds the traversal no longer current
withdraws its execution, as the traversal starter does. A traversal is
driven again at most ``[mistral_scheduler] max_traversal_redrives`` times;
after that, for stacks in a nested tree and for traversals with operator
hooks, the orphan check fails the stack as before.

Traversals with operator hooks are not driven again: a hook task runs the
operator's workflow as a Mistral sub-workflow and has no claim in Heat, so
a fresh execution would run the hooks of resources already done again.

Nested stacks are not driven again: a nested stack's execution is linked
to its parent's task, and a parent's execution to those of its nested
stacks still running (``traversal.nested_link``); a fresh execution would
carry none of these links. Their stalled traversals fail as before, with
the one-sentence reason, and are recovered with ``update --existing``.
"""

from oslo_log import log as logging

from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.store import traversal_mark

LOG = logging.getLogger(__name__)

# Answers of Redriver.redrive.
REDRIVEN = 'redriven'   # a fresh execution runs the traversal
LEFT = 'left'           # another engine re-drives it, or the stack moved on
FAIL = 'fail'           # not driven again: fail the stack as before

CANCELLED = 'CANCELLED'


class Redriver:
    """Cancels a stalled execution and starts the traversal's next one.

    ``heat`` has ``stack(stack_id)`` (``stack_row.StackState`` or None),
    ``in_tree(stack_id)`` (True for a nested stack or one with nested
    stacks in progress) and ``claim_redrive(traversal, execution_id,
    claimant, limit, stale_after) -> (answer, count)`` (see
    ``traversal_mark.claim_redrive``). ``mistral`` is a
    ``mistral_api.MistralService``. ``limit`` is the most re-drives of one
    traversal; ``stale_after`` the seconds after which an unfinished
    re-drive of another engine is taken over.
    """

    def __init__(self, heat, mistral, claimant, limit, stale_after):
        self.heat = heat
        self.mistral = mistral
        self.claimant = claimant
        self.limit = limit
        self.stale_after = stale_after

    def redrive(self, stack, execution):
        """Drive ``stack``'s current traversal again; ``(answer, why)``.

        ``stack`` is the ``StackState`` the check read; ``execution`` the
        stalled execution (``id``, ``input`` as a dict, ``description``).
        ``answer`` is REDRIVEN, LEFT or FAIL; ``why`` a clause for the
        log, and for FAIL one the stack's reason ends with. Raises
        MistralUnavailable when Mistral fails a call; the claim stays this
        engine's, so its next check retries.
        """
        traversal = stack.current_traversal
        if self.limit <= 0:
            return FAIL, 'driving it again is disabled'
        if self.heat.in_tree(stack.id):
            return FAIL, 'a nested stack tree is not driven again'
        name = workflow.workflow_name(stack.id)
        workflow_id = self.mistral.workflow_id(name, traversal)
        if workflow_id is None:
            return FAIL, 'Mistral no longer has its workflow definition'
        if hook_tasks.HOOK_TAG in (
                self.mistral.own_definition(workflow_id) or ''):
            # Hook tasks are Mistral sub-workflows, not claimed nodes: a
            # fresh execution would run the hooks of finished resources
            # again.
            return FAIL, 'a traversal with operator hooks is not driven again'
        answer, count = self.heat.claim_redrive(
            traversal, execution.id, self.claimant, self.limit,
            self.stale_after)
        if answer == traversal_mark.LOST:
            return LEFT, 'another engine drives it again or it ended'
        if answer == traversal_mark.EXHAUSTED:
            return FAIL, ('it was driven again %d times already' % count)
        self._cancel(stack.id, execution, count)
        if not self._current(stack):
            return LEFT, 'the stack moved on before the new execution started'
        started = self.mistral.start_execution(
            workflow_id, workflow_input=execution.input,
            description=getattr(execution, 'description', None) or name)
        if not self._current(stack):
            # A newer traversal may have listed the stack's executions
            # before this one existed: withdraw it, as the starter does.
            self.mistral.stop_execution(
                started.id, CANCELLED,
                'Traversal %s was superseded while it was driven again'
                % traversal)
            return LEFT, 'the stack moved on while the new execution started'
        LOG.warning('Stack %(stack)s traversal %(trav)s: Mistral execution '
                    '%(old)s had lost its progress; driven again (%(n)d of '
                    'at most %(limit)d) as execution %(new)s',
                    {'stack': stack.id, 'trav': traversal,
                     'old': execution.id, 'n': count, 'limit': self.limit,
                     'new': started.id})
        return REDRIVEN, 'driven again as execution %s' % started.id

    def _cancel(self, stack_id, execution, count):
        """Cancel the stalled execution; done already is fine (a retry)."""
        try:
            self.mistral.stop_execution(
                execution.id, CANCELLED,
                'Lost its progress in Mistral: its traversal is driven '
                'again by a new execution (re-drive %d)' % count)
        except mistral_api.MistralUnavailable:
            running = self.mistral.running_executions(
                workflow.workflow_name(stack_id))
            if any(e.id == execution.id for e in running):
                raise

    def _current(self, stack):
        row = self.heat.stack(stack.id)
        return (row is not None and row.status == 'IN_PROGRESS' and
                row.current_traversal == stack.current_traversal)
