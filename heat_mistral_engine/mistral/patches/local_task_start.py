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

"""``local_task_start``: start the first task of a commit in this process.

Mistral 23's engine creates a task in the transaction that completed its
predecessor, and after the commit sends ``start_task`` over RPC to any
engine, itself included: a broker round trip and a hand-over between
threads on the critical path of every dependency (see
doc/source/benchmarks.rst, "One hop of a chain"). The patch starts the
first task that a post-commit queue starts in that queue's own thread, in
this process, through the same ``DefaultEngine.start_task`` the RPC
server calls (retried on database errors as Mistral's RPC entry points
are); the other tasks of the queue (a fan-out) still go over RPC, so they
spread over the engines as before. A process that dies before the local
start commits leaves the task IDLE, as one that dies before its RPC cast
is sent or received does.

Opt-in (``base.OPT_IN``): it changes where and when a task starts, so it
is off unless mistral.conf turns it on, and even then it starts only tasks
of workflows named like the generated ones (``base.generated_workflow``,
read from the ``wf_spec`` Mistral's dispatcher passes): the tasks of every
other workflow go over RPC as without the patch.
"""

import functools
import threading

from oslo_log import log as logging

from heat_mistral_engine.mistral.patches import base
from heat_mistral_engine.mistral.patches import lean_start_task
from heat_mistral_engine.mistral.patches import queue_runner

LOG = logging.getLogger(__name__)


class LocalTaskStart(base.Patch):
    option = 'local_task_start'
    sharing = base.OPT_IN
    left_alone = 'Mistral\'s engine to start every task over RPC'
    cost = 'each resource waits for a broker round trip after the one it needs'
    applied = ('Mistral\'s engine starts the first task of each commit '
               'in-process, the others over RPC')

    def installed(self):
        from mistral.rpc import clients
        return getattr(clients.EngineClient.start_task, '_hme_local', False)

    def mistral_problem(self):
        from mistral.db import utils as db_utils
        from mistral.engine import default_engine
        from mistral.rpc import clients
        problem = base.signature_problem((
            (base.original(clients.EngineClient.start_task),
             lean_start_task.START_TASK_PARAMS),
            (default_engine.DefaultEngine.start_task,
             lean_start_task.START_TASK_PARAMS),
        ))
        if problem:
            return problem
        if not callable(getattr(db_utils, 'retry_on_db_error', None)):
            return 'mistral.db.utils.retry_on_db_error is gone'
        return queue_runner.queue_local_problem()

    def apply(self):
        from mistral.rpc import clients
        clients.EngineClient.start_task = starting_first_task_here(
            clients.EngineClient.start_task, task_starter())


def task_starter():
    """``start_here(...)``: Mistral's ``DefaultEngine.start_task``, here.

    Takes ``EngineClient.start_task``'s arguments. Meant for Mistral's
    post-commit queue runner; never raises: a task that could not be
    started is logged with its id and stays IDLE, as it does when the
    engine that receives Mistral's RPC cast fails to start it.
    """
    from mistral.db import utils as db_utils
    from mistral.engine import default_engine

    def start(*args):
        # Looked up at each call, as the RPC server's engine method is.
        return default_engine.DefaultEngine().start_task(*args)

    start_with_retries = db_utils.retry_on_db_error(start)

    def start_here(task_ex_id, first_run, waiting, triggered_by, rerun,
                   reset):
        # DefaultEngine.start_task is a queue runner itself.
        with queue_runner.runner_queue_kept():
            try:
                start_with_retries(task_ex_id, first_run, waiting,
                                   triggered_by, rerun, reset)
            except Exception:
                LOG.exception('Could not start task execution %s',
                              task_ex_id)

    return start_here


def starting_first_task_here(send, start_here):
    """Wrap ``EngineClient.start_task`` (``send``) to start one task here.

    Mistral's dispatcher calls ``start_task`` from the post-commit queue
    runner of the transaction that created the tasks, once per task, with
    the task's workflow spec (``wf_spec``). The first call of a runner for
    a task of a generated workflow goes to ``start_here`` (and returns
    None, as a cast does); later calls of the same runner, calls for other
    workflows' tasks, and calls from anywhere else, are sent over RPC as
    before.
    """
    seen = threading.local()

    @functools.wraps(send)
    def start_task(self, task_ex_id, first_run, waiting, triggered_by,
                   rerun, reset, **params):
        runner = queue_runner.current_runner()
        if (runner is not None and
                getattr(seen, 'runner', None) is not runner and
                base.generated_workflow(
                    base.spec_name(params.get('wf_spec')))):
            seen.runner = runner
            start_here(task_ex_id, first_run, waiting, triggered_by, rerun,
                       reset)
            return None
        return send(self, task_ex_id, first_run, waiting, triggered_by,
                    rerun, reset, **params)

    start_task._hme_original = base.original(send)
    start_task._hme_local = True
    return start_task


PATCH = LocalTaskStart()
