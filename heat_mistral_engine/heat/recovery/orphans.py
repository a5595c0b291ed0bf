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

"""Find (and repair) disagreements between Heat stacks and Mistral.

At rest, a stack and the Mistral executions of its workflow agree: a stack
IN_PROGRESS has one RUNNING execution, of its current traversal, and no
other execution of the stack runs. Two kinds of orphan break that:

``execution``
    a RUNNING (or PAUSED) execution whose stack is deleted, COMPLETE or
    FAILED, or whose traversal is no longer the stack's current one.
    Repair: cancel the execution (its nodes would be refused anyway).
``stack``
    a stack IN_PROGRESS, in an action Mistral drives, whose current
    traversal has no RUNNING execution (cancelled or deleted by hand, failed
    in Mistral, timed out). Repair: mark the stack and its IN_PROGRESS
    resources FAILED, as Heat itself does for a stack whose engine died,
    with a reason naming the execution, so that ``openstack stack update
    --existing`` (or delete) recovers it.
``stalled``
    the current traversal's execution is RUNNING, but no ``heat.run_node``
    action of it runs and none of its tasks changed for the grace period:
    Mistral lost its progress (a task left IDLE when a Mistral engine was
    killed before it started it, or a ``start_task`` cast lost with the
    broker). Repair: the traversal is driven again (``redrive``: the
    execution is cancelled and a fresh one of the same traversal started),
    at most ``max_traversal_redrives`` times; after that, or for a stack
    in a nested tree, or without a ``redriver``: as for ``stack``, and the
    execution is cancelled.

A disagreement younger than the grace period is left alone: a traversal
that starts or ends disagrees for a moment, and so does one being driven
again (the grace period also counts from its last re-drive). ``Checker``
holds the rules and talks to two narrow views, ``HeatView`` and a
``MistralService``; the tests give it fakes.
"""

import dataclasses

from heat.common import context
from heat.engine import stack as heat_stack
from heat.objects import stack as stack_objects
from oslo_log import log as logging
from oslo_utils import timeutils

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.node import runner
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine.heat.recovery import redrive
from heat_mistral_engine.heat.store import traversal_mark

LOG = logging.getLogger(__name__)

DRIVEN_ACTIONS = ('CREATE', 'UPDATE', 'DELETE', 'ROLLBACK')
# The states of an execution that has not ended.
RUNNING_STATES = ('RUNNING', 'PAUSED', 'IDLE')
RECOVER_HINT = ("recover with 'openstack stack update --existing' or "
                "delete the stack")


@dataclasses.dataclass
class Orphan:
    """One disagreement found, and what its repair did."""

    kind: str            # 'execution', 'stack' or 'stalled'
    stack_id: str
    execution_id: str    # None for a stack with no execution at all
    reason: str
    repaired: bool = False
    error: str = None    # why the repair failed
    # The stalled execution itself (its input is the traversal's).
    execution: object = dataclasses.field(default=None, repr=False)
    redriven: bool = False   # repaired by driving the traversal again


class Checker:
    """The rules; ``heat`` and ``mistral`` are the two sides.

    ``heat`` has ``stack(stack_id) -> stack_row.StackState or None`` (None:
    deleted), ``in_progress_stacks() -> [stack_row.StackState]`` and
    ``fail_if_current(stack_id, traversal, reason) -> bool`` and
    ``redriven_at(traversal)`` (naive UTC datetime or None). ``mistral``
    is a ``mistral_api.MistralService`` (``stack_executions``,
    ``executions_of``, ``stop_execution``). ``redriver`` (a
    ``redrive.Redriver``, optional) drives stalled traversals again;
    without it they fail.
    """

    def __init__(self, heat, mistral, grace_seconds, now=None,
                 redriver=None):
        self.heat = heat
        self.mistral = mistral
        self.grace = grace_seconds
        self.redriver = redriver
        self._now = now or timeutils.utcnow

    def find(self, stack_ids=None):
        """Return the list of ``Orphan`` found now (repairs nothing).

        ``stack_ids``: look only at these stacks (default: all).
        """
        running = self.mistral.stack_executions()
        if stack_ids is not None:
            running = [e for e in running if _stack_id(e) in stack_ids]
        active = {(a.input.get('stack_id'), a.input.get('traversal'))
                  for a in self.mistral.running_node_actions()}
        orphans = []
        current = set()
        stacks = {}
        for execution in running:
            stack_id = _stack_id(execution)
            traversal = execution.input.get('traversal')
            if stack_id not in stacks:
                stacks[stack_id] = self.heat.stack(stack_id)
            stack = stacks[stack_id]
            why = self._execution_problem(stack, traversal)
            if why is None:
                current.add((stack_id, traversal))
                if (stack_id, traversal) not in active:
                    stalled = self._stalled(stack, execution)
                    if stalled:
                        orphans.append(stalled)
            elif why and not self._finishing(execution):
                orphans.append(Orphan('execution', stack_id, execution.id,
                                      why))
        for stack in self.heat.in_progress_stacks():
            if stack_ids is not None and stack.id not in stack_ids:
                continue
            if (not stack.mistral_driven or
                    (stack.id, stack.current_traversal) in current or
                    not self._quiet(stack)):
                continue
            orphan = self._stack_orphan(stack)
            if orphan is not None:
                orphans.append(orphan)
        return orphans

    def _execution_problem(self, stack, traversal):
        """Why the running execution is an orphan.

        None: it is the stack's current one; '': it may be an orphan, but
        the disagreement is younger than the grace period.
        """
        if stack is None:
            return 'the stack is deleted'
        if stack.status == 'IN_PROGRESS' and (
                stack.current_traversal == traversal):
            return None
        if not self._old(stack.updated_at):
            return ''
        if stack.status != 'IN_PROGRESS':
            # (Heat clears current_traversal when a traversal fails.)
            return 'the stack is %s_%s' % (stack.action, stack.status)
        return ('its traversal %s was superseded by %s'
                % (traversal, stack.current_traversal))

    def _finishing(self, execution):
        """True if a task of the execution changed within the grace period.

        The stack's ``updated_at`` is when its action began, not when it
        ended: Heat marks a stack COMPLETE (or deletes it) when its last
        node is done, and Mistral ends the execution a moment later, once
        that node's report arrives. Judged by the stack alone, every
        traversal longer than the grace period would look orphaned in that
        moment, and its execution would end CANCELLED instead of SUCCESS.
        An execution whose tasks still change is finishing; an orphan's
        stop changing.
        """
        last = self.mistral.last_task_change(execution.id)
        return last is not None and not self._old(last)

    def _stalled(self, stack, execution):
        """An Orphan if the execution runs nothing and changed nothing."""
        if not self._quiet(stack):
            return None
        last = self.mistral.last_task_change(execution.id)
        if last is not None and not self._old(last):
            return None
        reason = ('Mistral execution %s of this %s is RUNNING but has run '
                  'no resource for %d s (Mistral lost its progress, for '
                  'example when it was killed); %s'
                  % (execution.id, stack.action, self.grace, RECOVER_HINT))
        return Orphan('stalled', stack.id, execution.id, reason,
                      execution=execution)

    def _quiet(self, stack):
        """True if the traversal began and was last re-driven long ago.

        Long ago: more than the grace period.
        """
        return (self._old(stack.updated_at) and
                self._old(self.heat.redriven_at(stack.current_traversal)))

    def _stack_orphan(self, stack):
        """The ``stack`` Orphan of a stack with no running execution.

        None when the traversal has one after all: it started after
        ``find`` listed the running executions, or that list missed it
        (seen after a broker restart, where a stack was failed for an
        execution "ended RUNNING"); the next check judges it.
        """
        ended = [e for e in self.mistral.executions_of(
            workflow.WORKFLOW_PREFIX + stack.id)
            if e.input.get('traversal') == stack.current_traversal]
        if any(e.state in RUNNING_STATES for e in ended):
            LOG.info('Stack %s: its traversal %s has a running execution '
                     'that the list of running executions missed; judged '
                     'at the next check', stack.id, stack.current_traversal)
            return None
        if ended:
            execution = ended[-1]
            # Mistral's state info can hold a traceback, file paths and
            # the sealed token: the log has it, the tenant's reason not.
            LOG.warning('Stack %s: Mistral execution %s ended %s: %s',
                        stack.id, execution.id, execution.state,
                        getattr(execution, 'state_info', None))
            reason = ('Mistral execution %s of this %s ended %s while the '
                      'stack was still IN_PROGRESS (Mistral\'s message is in '
                      'heat-engine\'s log); %s'
                      % (execution.id, stack.action, execution.state,
                         RECOVER_HINT))
            return Orphan('stack', stack.id, execution.id, reason)
        reason = ('Mistral has no execution of this %s (traversal %s) '
                  'while the stack was IN_PROGRESS; %s'
                  % (stack.action, stack.current_traversal, RECOVER_HINT))
        return Orphan('stack', stack.id, None, reason)

    def _old(self, stamp):
        if stamp is None:
            return True
        if isinstance(stamp, str):
            stamp = timeutils.parse_isotime(stamp)
        stamp = timeutils.normalize_time(stamp)
        return (self._now() - stamp).total_seconds() >= self.grace

    def repair(self, orphans):
        """Repair each orphan in place (``repaired``/``error``); no raise."""
        for orphan in orphans:
            try:
                if orphan.kind == 'execution':
                    self.mistral.stop_execution(
                        orphan.execution_id, 'CANCELLED',
                        'Orphan check: %s' % orphan.reason)
                    orphan.repaired = True
                else:
                    stack = self.heat.stack(orphan.stack_id)
                    if self._redriven(orphan, stack):
                        continue
                    orphan.repaired = bool(
                        stack and stack.status == 'IN_PROGRESS' and
                        self.heat.fail_if_current(stack.id,
                                                  stack.current_traversal,
                                                  orphan.reason))
                    if not orphan.repaired:
                        orphan.error = 'the stack moved on meanwhile'
                    elif orphan.kind == 'stalled':
                        self.mistral.stop_execution(
                            orphan.execution_id, 'CANCELLED',
                            'Orphan check: %s' % orphan.reason)
            except Exception as exc:
                orphan.error = str(exc)
            self._log(orphan)
        return orphans

    def _redriven(self, orphan, stack):
        """Try to drive a stalled orphan's traversal again.

        True when that settled the orphan (driven again, or left to the
        engine that does it; logged here); False when the stack is to fail
        as before, with the reason why appended to ``orphan.reason``.
        Raises what the redriver raises.
        """
        if (orphan.kind != 'stalled' or self.redriver is None or
                stack is None or stack.status != 'IN_PROGRESS'):
            return False
        answer, why = self.redriver.redrive(stack, orphan.execution)
        if answer == redrive.FAIL:
            orphan.reason = orphan.reason.replace(
                '; ' + RECOVER_HINT,
                ' and was not driven again (%s); %s' % (why, RECOVER_HINT))
            return False
        orphan.repaired = orphan.redriven = answer == redrive.REDRIVEN
        if not orphan.repaired:
            orphan.error = why
        else:
            orphan.reason = why
        self._log(orphan)
        return True

    @staticmethod
    def _log(orphan):
        LOG.warning('Orphan %s of stack %s (execution %s): %s; %s',
                    orphan.kind, orphan.stack_id, orphan.execution_id,
                    orphan.reason,
                    'repaired' if orphan.repaired
                    else 'not repaired: %s' % orphan.error)

    def check(self, repair=False, stack_ids=None):
        """``find`` the orphans, and ``repair`` them if asked; the list."""
        orphans = self.find(stack_ids)
        if repair:
            self.repair(orphans)
        return orphans


def _stack_id(execution):
    stack_id = execution.input.get('stack_id')
    if not stack_id:
        stack_id = execution.workflow_name[len(workflow.WORKFLOW_PREFIX):]
    return stack_id


class HeatView:
    """The Heat side of the checker, through Heat's database objects."""

    def __init__(self, cnxt=None):
        self.cnxt = cnxt or context.get_admin_context()

    def stack(self, stack_id):
        """The stack's ``StackState``, or None when it is deleted."""
        row = stack_objects.Stack.get_by_id(self.cnxt, stack_id)
        return None if row is None else self._state(row)

    def in_progress_stacks(self):
        """``StackState`` of each convergence stack IN_PROGRESS, nested too."""
        rows = stack_objects.Stack.get_all(
            self.cnxt, filters={'status': 'IN_PROGRESS',
                                'convergence': True},
            show_nested=True)
        return [self._state(row) for row in rows]

    def _state(self, row):
        # Only a traversal the plugin started: not a native fallback, nor
        # one started before the plugin was enabled or by an engine where
        # it is still off.
        marked = None
        if row.action in DRIVEN_ACTIONS and row.status == 'IN_PROGRESS':
            marked = traversal_mark.marked_at(self.cnxt,
                                              row.current_traversal)
        updated = row.updated_at or row.created_at
        if marked is not None and (updated is None or marked > updated):
            # A delete keeps the stack's last updated_at: the traversal's
            # age is its mark's.
            updated = marked
        return stack_row.StackState(
            row.id, row.current_traversal, row.status, action=row.action,
            updated_at=updated, mistral_driven=marked is not None)

    def redriven_at(self, traversal):
        """When ``traversal`` was last driven again, or None."""
        return traversal_mark.redriven_at(self.cnxt, traversal)

    def in_tree(self, stack_id):
        """True for a nested stack, or one with nested stacks in progress."""
        row = stack_objects.Stack.get_by_id(self.cnxt, stack_id)
        if row is None or row.owner_id:
            return row is not None
        return any(child.status == 'IN_PROGRESS' for child in
                   stack_objects.Stack.get_all_by_root_owner_id(
                       self.cnxt, stack_id))

    def claim_redrive(self, traversal, execution_id, claimant, limit,
                      stale_after):
        """``traversal_mark.claim_redrive`` in this view's context."""
        return traversal_mark.claim_redrive(
            self.cnxt, traversal, execution_id, claimant, limit,
            stale_after)

    def fail_if_current(self, stack_id, traversal, reason):
        """Fail the stack still IN_PROGRESS in ``traversal``, without rollback.

        The stack and its IN_PROGRESS resources become FAILED
        (``runner.fail_stack(rollback=False)``). Returns False when the
        stack left that traversal meanwhile.
        """
        stack = heat_stack.Stack.load(self.cnxt, stack_id=stack_id,
                                      force_reload=True)
        if (stack.current_traversal != traversal or
                stack.status != stack.IN_PROGRESS):
            return False
        return runner.fail_stack(stack, reason, rollback=False)
