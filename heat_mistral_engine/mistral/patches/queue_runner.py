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

"""Mistral's post-commit queue runners, as ``local_task_start`` and
``prompt_joins`` use them.

Mistral 23 runs the operations a transaction registered
(``post_tx_queue.register_operation``) after its commit, in a queue
runner (``post_tx_queue.run``) that keeps its queue in a thread-local.
Both patches call, from inside a runner, a Mistral function that is a
runner itself. (mistral_lib, unlike Mistral's engine, may be imported
outside a Mistral process: it registers no options.)
"""

import contextlib

from mistral_lib import utils as mistral_lib_utils

# The thread-local name of the runner's queue in mistral.engine.post_tx_queue.
QUEUE_LOCAL = '__operation_queue_thread_local'


def queue_local_problem():
    """Why ``runner_queue_kept`` would not keep the queue, or None."""
    from mistral.engine import post_tx_queue
    if getattr(post_tx_queue, '_THREAD_LOCAL_NAME', None) != QUEUE_LOCAL:
        return 'post_tx_queue no longer keeps its queue in %s' % QUEUE_LOCAL
    return None


@contextlib.contextmanager
def runner_queue_kept():
    """Keep the post-commit queue runner's queue across a nested runner.

    Each of Mistral's queue runners (``post_tx_queue.run``: engine methods,
    ``_refresh_task_state``) replaces the thread-local queue and clears it
    when it returns. Called from inside a runner, one would leave that
    runner's operations after the call with no queue to register in.
    """
    outer = mistral_lib_utils.get_thread_local(QUEUE_LOCAL)
    try:
        yield
    finally:
        mistral_lib_utils.set_thread_local(QUEUE_LOCAL, outer)


def current_runner():
    """The queue of the post-commit queue runner of this thread, or None."""
    return mistral_lib_utils.get_thread_local(QUEUE_LOCAL)
