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

"""``prompt_joins``: check a join task right after the commit.

A Mistral 23 task with ``join`` (every resource that needs more than one
other) is created WAITING, and only a job of Mistral's scheduler starts
it: ``_check_affected_tasks`` stores a job that re-reads the join's
inbound tasks after the completing transaction commits, and the scheduler
polls its jobs once per ``[scheduler] fixed_delay`` (1 s) and runs them one
after another in a single thread. So every join waits for the next poll,
and in a layered stack every resource after the first layer is started by
that one thread. The patch also runs that same check
(``task_handler._refresh_task_state``) right after the commit, in the
thread Mistral already runs its post-commit operations in; checks of one
join requested while one runs are merged into one more run
(``coalesced_calls``). Mistral's scheduled job stays as it was, and is
stored before the prompt check runs: if the prompt check fails or the
process dies, the job starts the join as before, and when the prompt check
has started it the job finds it RUNNING and does nothing. The check runs
after the commit, in a transaction of its own, as the scheduled job's does
(the reason Mistral does not check in the completing transaction: two
inbound tasks finishing together would each miss the other's commit).

Opt-in (``base.OPT_IN``): it changes when join tasks start, so it is off
unless mistral.conf turns it on, and even then it checks only joins of
workflows named like the generated ones (``base.generated_workflow``):
every other workflow's joins wait for Mistral's scheduler as without the
patch.
"""

import functools

from oslo_log import log as logging

from heat_mistral_engine.mistral import coalesced_calls
from heat_mistral_engine.mistral.patches import base
from heat_mistral_engine.mistral.patches import queue_runner

LOG = logging.getLogger(__name__)


class PromptJoins(base.Patch):
    option = 'prompt_joins'
    sharing = base.OPT_IN
    left_alone = 'Mistral\'s join tasks to its scheduler'
    cost = ('each resource that needs two or more others waits for the '
            'scheduler\'s next poll')
    applied = ('Mistral checks join tasks right after the commit that may '
               'start them, besides its scheduler')

    def installed(self):
        return bool(getattr(_controller().
                            find_indirectly_affected_task_executions,
                            '_hme_original', None))

    def mistral_problem(self):
        from mistral.engine import post_tx_queue
        from mistral.engine import task_handler
        return base.signature_problem((
            (task_handler._check_affected_tasks, ('task',)),
            (task_handler._refresh_task_state, ('task_ex_id',)),
            (post_tx_queue.register_operation, ('func', 'args', 'in_tx')),
            (base.original(
                _controller().find_indirectly_affected_task_executions),
             ('self', 't_name')),
        )) or queue_runner.queue_local_problem()

    def apply(self):
        controller = _controller()
        controller.find_indirectly_affected_task_executions = (
            refreshing_joins(
                controller.find_indirectly_affected_task_executions,
                join_refresher()))


def _controller():
    from mistral.workflow import direct_workflow
    return direct_workflow.DirectWorkflowController


def join_refresher():
    """``refresh_now(task_ex_id)``: Mistral's join check, run now.

    Meant for Mistral's post-commit queue; checks of one join requested
    while one runs are merged (``coalesced_calls``). Never raises: a
    failed check is logged, and Mistral's scheduled check remains.
    """
    from mistral.engine import task_handler

    refreshes = coalesced_calls.CoalescedCalls(
        lambda task_ex_id: task_handler._refresh_task_state(task_ex_id))

    def refresh_now(task_ex_id):
        # Runs inside Mistral's post-commit queue runner;
        # _refresh_task_state is a queue runner itself.
        with queue_runner.runner_queue_kept():
            try:
                refreshes.request(task_ex_id)
            except Exception:
                LOG.warning('Prompt check of join task execution %s '
                            'failed; Mistral\'s scheduled check will start '
                            'it.', task_ex_id, exc_info=True)

    return refresh_now


def refreshing_joins(find, refresh_now):
    """Wrap ``find_indirectly_affected_task_executions`` to queue checks.

    Only ``_check_affected_tasks`` calls it, in the transaction that
    completed ``t_name``; it then queues Mistral's own scheduling of a
    check of each join returned. The wrapper returns what ``find`` returns
    and, for a generated workflow (the controller's ``wf_spec``), queues
    ``refresh_now`` for each, to run once that transaction has
    committed and the operations queued with it (Mistral's scheduled
    checks among them) have run: a process that dies during the prompt
    check leaves the scheduled ones behind, as it would without the patch.
    """
    from mistral.engine import post_tx_queue

    def after_queued_operations(task_ex_id):
        # Runs in Mistral's post-commit queue runner: what it queues runs
        # after every operation of the current queue.
        post_tx_queue.register_operation(refresh_now, args=[task_ex_id])

    @functools.wraps(find)
    def find_indirectly_affected_task_executions(self, t_name):
        affected = find(self, t_name)
        if not base.generated_workflow(
                base.spec_name(getattr(self, 'wf_spec', None))):
            return affected
        for task_ex in affected:
            post_tx_queue.register_operation(after_queued_operations,
                                             args=[task_ex.id])
        return affected

    find_indirectly_affected_task_executions._hme_original = find
    return find_indirectly_affected_task_executions


PATCH = PromptJoins()
