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

"""Fail a stack within seconds of Mistral failing its traversal (heat-engine).

A stack's execution can fail inside Mistral, with no heat-engine ever told:
a task whose input exceeds Mistral's ``[engine]
execution_field_size_limit_kb`` (the receipts of its predecessors, together
too big), a Mistral internal error, a task timeout, an execution failed by
hand. The orphan check would fail such a stack only after its grace period
and interval, minutes later. Every engine worker therefore runs a
``FailureWatch``: each ``failure_poll_interval`` seconds it asks Mistral
for the tasks and the executions of stacks' workflows (``heat_stack_*``,
the service project's) that ended ERROR since its previous look (two API
calls, on Mistral's indexes of ``state`` and ``updated_at``), and fails
the stacks concerned:

* a *node* task in ERROR (named as ``graph.naming`` makes node tasks): a
  task fails its execution only once no other task of it runs, so a stack
  with a long resource running learns of the failure from the task. Hook
  and report tasks are left: a failed hook is reported to heat-engine by
  its ``__failed`` task, which fails the stack with the hook's message and
  rolls back (``node.hook_reports``), and what fails otherwise fails the
  execution, seen next;
* an execution in ERROR, unless an operator hook's failure was reported
  to heat-engine by it (a ``__failed`` task succeeded: Heat acts on that
  report, and the orphan check remains if it never arrives).

Only when the stack is IN_PROGRESS in the execution's traversal (its
namespace, see ``traversal.starter``) and that traversal is the plugin's
(``store.traversal_mark``). A failure Heat itself caused (a resource that
failed, a traversal Heat stopped or superseded) never qualifies: Heat marks
the stack, or starts its next traversal, before it reports the node or
ends the execution. Of the engine workers that see the same failure, the
one that claims it on the traversal's mark (``claim_failure``, a
compare-and-swap; the same worker may try again after an error) fails the
stack, as the orphan check's repair does
(``orphans.HeatView.fail_if_current``: the stack and its IN_PROGRESS
resources FAILED, no rollback), then ends the execution if it still runs
(``executions.traversal_failed``).

The stack's reason is one sentence. For a task over Mistral's size limit
it names the resource, the size and the option, read from Mistral's
``Field size limit exceeded`` text; otherwise it names the execution and
the resource whose task failed, if one did, and how to recover. Mistral's
own text (which can hold a traceback, file paths or the sealed token) goes
to heat-engine's log only, with a request id that the reason gives.

Each look goes ``LOOK_BACK`` seconds further back than the previous one,
for a Mistral transaction that commits late and for clocks that differ;
what was judged once is not judged again. A worker started after a
failure, or a clock more than ``LOOK_BACK`` off, leaves it to the orphan
check.
"""

import dataclasses
import datetime
import re

from heat.objects import resource as resource_objects
from oslo_context import context as oslo_context
from oslo_log import log as logging
from oslo_utils import timeutils

from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.recovery import orphans
from heat_mistral_engine.heat.store import traversal_mark
from heat_mistral_engine.heat.traversal import executions

LOG = logging.getLogger(__name__)

# Seconds each look reaches back before the previous look started.
LOOK_BACK = 60

SIZE_OPTION = "Mistral's [engine] execution_field_size_limit_kb"
# Mistral 23's SizeLimitExceededException text (its models'
# validate_long_type_length).
_SIZE = re.compile(r'Field size limit exceeded \[class=\w*, field=(\w+), '
                   r'size=(\d+)KB, limit=(\d+)KB\]')
# What the field over the limit is, for a resource's node task.
_FIELDS = {'input': 'the data passed to it',
           'published': 'the data it passes on',
           'output': 'the data it passes on'}


@dataclasses.dataclass
class Failure:
    """A stack this watch failed, and why."""

    stack_id: str
    traversal: str
    execution_id: str
    reason: str
    task: str = None        # the failed task's name, if one is known


class FailureView(orphans.HeatView):
    """The Heat side of the watch: the orphan check's, and two more.

    ``claimant`` names this watch in claims (the engine worker's id).
    """

    def __init__(self, claimant, cnxt=None):
        super().__init__(cnxt)
        self.claimant = claimant

    def resource_name(self, stack_id, node):
        """The name of the resource of ``node`` (``naming.NodeTask``).

        None when its row cannot be read or is another stack's.
        """
        if node.resource_name is not None:
            return node.resource_name
        try:
            row = resource_objects.Resource.get_obj(
                self.cnxt, node.resource_id, fields=('name', 'stack_id'))
        except Exception as exc:
            LOG.warning('Could not read the name of resource %s: %s',
                        node.resource_id, exc)
            return None
        return row.name if row.stack_id == stack_id else None

    def claim_failure(self, traversal, execution_id):
        """True for the one watch that fails ``traversal``'s stack."""
        return traversal_mark.claim_failure(self.cnxt, traversal,
                                            execution_id, self.claimant)


class FailureWatch:
    """Looks for failed executions and tasks; fails their stacks.

    :param heat: a ``FailureView`` (the tests give a fake).
    :param mistral: a ``mistral_api.MistralService``
        (``failed_stack_tasks``, ``failed_stack_executions``,
        ``execution_tasks``).
    :param now: ``f() -> naive UTC datetime``, for tests.
    :param end_execution: ``f(stack_id, traversal, reason)`` ending the
        traversal's running execution; ``executions.traversal_failed`` by
        default.
    """

    def __init__(self, heat, mistral, now=None, end_execution=None):
        self.heat = heat
        self.mistral = mistral
        self._now = now or timeutils.utcnow
        self._end = end_execution or executions.traversal_failed
        self._last = None
        # Id of a task or execution judged -> when first seen.
        self._seen = {}

    def poll(self):
        """Look once; return the list of ``Failure`` (stacks failed).

        Raises ``MistralUnavailable`` when Mistral cannot list; the next
        look then reaches back to the last one that could.
        """
        started = self._now()
        since = (self._last or started) - datetime.timedelta(
            seconds=LOOK_BACK)
        tasks = self.mistral.failed_stack_tasks(since)
        ended = self.mistral.failed_stack_executions(since)
        self._last = started
        found = []
        for task in tasks:
            node = naming.read_node_task(task.name)
            if node is None:
                continue
            found.append(self._judge(
                task.id, task.workflow_name, task.workflow_namespace,
                task.workflow_execution_id, task=task, node=node))
        for execution in ended:
            found.append(self._judge(
                execution.id, execution.workflow_name,
                execution.workflow_namespace, execution.id,
                execution=execution))
        for key, when in list(self._seen.items()):
            if when < since - datetime.timedelta(seconds=LOOK_BACK):
                del self._seen[key]
        return [failure for failure in found if failure is not None]

    def _judge(self, key, workflow_name, traversal, execution_id, task=None,
               node=None, execution=None):
        if key in self._seen:
            return None
        self._seen[key] = self._now()
        try:
            return self._fail(workflow_name[len(
                workflow.WORKFLOW_PREFIX):], traversal,
                execution_id, task, node, execution)
        except Exception:
            # Judged again at the next look, while Mistral still lists it.
            del self._seen[key]
            LOG.exception('Could not judge the failed Mistral execution %s',
                          execution_id)
            return None

    def _fail(self, stack_id, traversal, execution_id, task, node,
              execution):
        stack = self.heat.stack(stack_id)
        if (stack is None or stack.status != 'IN_PROGRESS' or
                not stack.mistral_driven or not traversal or
                stack.current_traversal != traversal):
            return None
        if task is None:
            task, node, reported = self._failed_task(execution_id)
            if reported:
                LOG.info('Stack %s: Mistral execution %s failed after '
                         'reporting an operator hook\'s failure; Heat acts '
                         'on the report', stack_id, execution_id)
                return None
        request_id = oslo_context.generate_request_id()
        resource = node and self.heat.resource_name(stack_id, node)
        reason = failure_reason(
            stack.action, execution_id, request_id,
            task_info=getattr(task, 'state_info', None),
            execution_info=getattr(execution, 'state_info', None),
            resource=resource, running=execution is None)
        if not self.heat.claim_failure(traversal, execution_id):
            return None
        LOG.warning('Stack %(stack)s [%(req)s]: Mistral execution %(ex)s '
                    'of traversal %(trav)s failed%(task)s: %(info)s',
                    {'stack': stack_id, 'req': request_id,
                     'ex': execution_id, 'trav': traversal,
                     'task': ' in task %s' % task.name if task else '',
                     'info': getattr(task, 'state_info', None) or
                     getattr(execution, 'state_info', None)})
        if not self.heat.fail_if_current(stack_id, traversal, reason):
            LOG.info('Stack %s left traversal %s meanwhile', stack_id,
                     traversal)
            return None
        LOG.warning('Stack %s failed: %s', stack_id, reason)
        # Still RUNNING when a task failed while others run.
        self._end(stack_id, traversal, reason)
        return Failure(stack_id, traversal, execution_id, reason,
                       task.name if task else None)

    def _failed_task(self, execution_id):
        """(task, node, reported) of a failed execution.

        ``task``: its first failed node task (None if none failed), with
        its ``naming.NodeTask``; ``reported``: a hook task failed and its
        failure was reported to heat-engine.
        """
        failed = self.mistral.execution_tasks(execution_id, state='ERROR')
        nodes = [(t, naming.read_node_task(t.name)) for t in failed]
        if any(node is None for _task, node in nodes):
            reports = self.mistral.execution_tasks(
                execution_id, state='SUCCESS',
                name_has=naming.failure_task(''))
            if any(naming.is_failure_task(t.name) for t in reports):
                return None, None, True
        for task, node in nodes:
            if node is not None:
                return task, node, False
        return None, None, False


def failure_reason(action, execution_id, request_id, task_info=None,
                   execution_info=None, resource=None, running=False):
    """The stack's reason: one sentence, without Mistral's own text.

    ``running``: the execution still runs (a task of it failed).
    """
    size = _SIZE.search(task_info or '') or _SIZE.search(
        execution_info or '')
    if size:
        field, size_kb, limit_kb = size.groups()
        if resource is not None:
            what = _FIELDS.get(field, 'its Mistral task\'s %s' % field)
            return ('Resource %s: %s (%s KB) exceeds %s (%s KB)'
                    % (resource, what, size_kb, SIZE_OPTION, limit_kb))
        return ('The data of Mistral execution %s of this %s (%s KB) '
                'exceeds %s (%s KB)' % (execution_id, action, size_kb,
                                        SIZE_OPTION, limit_kb))
    where = ' at resource %s' % resource if resource is not None else ''
    return ('Mistral execution %s of this %s %s%s while the stack was '
            'IN_PROGRESS (Mistral\'s message is in heat-engine\'s log, '
            'request %s); %s'
            % (execution_id, action, 'failed' if running else 'ended ERROR',
               where, request_id, orphans.RECOVER_HINT))
