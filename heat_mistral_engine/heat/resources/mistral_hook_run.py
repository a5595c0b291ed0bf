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

"""One run of a user's hook workflow: start, poll, retry, time out, cancel.

Used by ``mistral_hook.MistralHook`` (``OS::Mistral::Hook``) from Heat's
``handle_<action>`` / ``check_<action>_complete`` pair, so that Heat's own
progress loop does the waiting and no thread is blocked on Mistral.

Contract:

* ``MistralHookRun(client, hook, workflow, workflow_input, ...)`` holds the
  state of one hook action; ``start()`` creates the first execution and
  returns its id. ``client`` is a python-mistralclient client (the stack's
  own, so Mistral runs the workflow in the stack's project).
* ``poll(now)`` returns True when an execution succeeded (``output`` is
  then the execution's output, a dict), False while it runs or waits for a
  retry, and raises ``MistralHookFailed`` when it failed, was cancelled, or
  timed out and no retry is left. A timed-out execution is cancelled first.
  While a retry waits, ``poll`` raises ``RetryDelay`` with the seconds
  left, so that the caller can let Heat sleep that long.
* ``cancel()`` cancels the running execution, if any (the resource's
  action was cancelled or timed out by Heat).
* Each attempt gets ``timeout`` seconds; a timed-out attempt counts as a
  failed one and is retried like a failure, as Mistral's own task
  policies do.
"""

import json
import time

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

RUNNING_STATES = ('IDLE', 'RUNNING', 'PAUSED')
SUCCESS = 'SUCCESS'
CANCELLED = 'CANCELLED'
# Mistral's execution state_info when a task failed: the task's own
# message is then in the task's state_info.
TASK_FAILURE_PREFIX = 'Failure caused by error in tasks'


class MistralHookFailed(Exception):
    """The hook's workflow failed; the message is for the stack's reason."""


class RetryDelay(Exception):
    """A failed attempt will be retried after ``seconds``."""

    def __init__(self, seconds):
        super().__init__(seconds)
        self.seconds = seconds


def execution_output(execution):
    """The output of a finished execution, as a dict."""
    output = execution.output
    if isinstance(output, str):
        output = json.loads(output or '{}')
    return output or {}


def failure_message(client, execution):
    """The workflow's own error for a failed execution.

    Mistral puts the message of a failed task in the task's state_info and
    only names the task in the execution's; use the tasks' then.
    """
    info = (execution.state_info or '').strip()
    if info and not info.startswith(TASK_FAILURE_PREFIX):
        return info
    try:
        tasks = client.tasks.list(workflow_execution_id=execution.id)
    except Exception as exc:
        LOG.warning('Cannot read the tasks of hook execution %s: %s',
                    execution.id, exc)
        tasks = ()
    messages = ['%s: %s' % (task.name, (task.state_info or '').strip())
                for task in tasks if task.state == 'ERROR']
    return '; '.join(messages) or info or 'execution %s ended %s' % (
        execution.id, execution.state)


class MistralHookRun:
    """The state of one hook action (create, update or delete)."""

    def __init__(self, client, hook, workflow, workflow_input, description,
                 timeout=None, retries=0, delay=0, clock=None):
        self.client = client
        self.hook = hook
        self.workflow = workflow
        self.workflow_input = workflow_input or {}
        self.description = description
        self.timeout = timeout
        self.retries = retries or 0
        self.delay = delay or 0
        self.clock = clock or time.monotonic
        self.attempt = 0
        self.execution_id = None
        self.started_at = None
        self.retry_at = None
        self.output = None
        self.recorded = None   # the execution id the resource last stored

    def start(self):
        """Create the next execution; return its id."""
        execution = self.client.executions.create(
            self.workflow, workflow_input=self.workflow_input,
            description=self.description)
        self.attempt += 1
        self.execution_id = execution.id
        self.started_at = self.clock()
        self.retry_at = None
        LOG.info('Hook %s: Mistral execution %s of workflow %s (attempt '
                 '%d of %d)', self.hook, execution.id, self.workflow,
                 self.attempt, self.retries + 1)
        return execution.id

    def poll(self):
        """True when done; False while running; see the module contract."""
        if self.retry_at is not None:
            left = self.retry_at - self.clock()
            if left > 0:
                raise RetryDelay(left)
            self.start()
            return False
        execution = self.client.executions.get(self.execution_id)
        if execution.state == SUCCESS:
            self.output = execution_output(execution)
            return True
        if execution.state in RUNNING_STATES:
            if not self._timed_out():
                return False
            self.cancel()
            reason = ('Hook %s timed out: workflow %s did not finish within '
                      '%s s (execution %s cancelled)' % (
                          self.hook, self.workflow, self.timeout,
                          self.execution_id))
        else:
            reason = 'Hook workflow %s failed: %s' % (
                self.workflow, failure_message(self.client, execution))
        return self._failed(reason)

    def cancel(self):
        """Cancel the current execution if it is still running."""
        if self.execution_id is None:
            return
        cancel_execution(self.client, self.execution_id,
                         'Hook %s cancelled by Heat' % self.hook)

    def _timed_out(self):
        return (self.timeout is not None and
                self.clock() - self.started_at >= self.timeout)

    def _failed(self, reason):
        if self.attempt > self.retries:
            if self.retries:
                reason += ' (after %d attempts)' % self.attempt
            raise MistralHookFailed(reason)
        LOG.warning('%s; retrying in %s s (attempt %d of %d)', reason,
                    self.delay, self.attempt + 1, self.retries + 1)
        self.retry_at = self.clock() + self.delay
        raise RetryDelay(self.delay)


def cancel_execution(client, execution_id, reason):
    """Cancel ``execution_id`` if it still runs; never raises."""
    try:
        execution = client.executions.get(execution_id)
        if execution.state in RUNNING_STATES:
            client.executions.update(execution_id, CANCELLED)
            LOG.info('Cancelled hook execution %s: %s', execution_id, reason)
    except Exception as exc:
        LOG.warning('Cannot cancel hook execution %s: %s', execution_id, exc)
