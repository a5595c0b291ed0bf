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

"""A user's own workflow on the cloud's Mistral, which the plugin patched.

Mistral may serve other projects besides Heat; the package's patches of
Mistral's engine must leave their workflows as an unpatched Mistral runs
them (doc/source/operator-guide.rst, "A Mistral shared with other
projects"). This runs a plain workflow as the cloud's user, through
python-mistralclient, on the local cloud's Mistral with every patch in
place (devcloud turns the opt-in ones on too), and checks what it ended
with, exactly: what Mistral 23 makes of it unpatched
(tests/unit/mistral_side/user_workflows.py, which the unit tests hold
Mistral's engine to, with and without the patches).
"""

import json
import uuid

from tests.functional import base
from tests.unit.mistral_side import user_workflows

# What the INFO line of each applied patch ends with (patches.base).
PATCHES = ('lean_start_task', 'local_task_start', 'skip_redundant_queries',
           'cache_expressions', 'async_heartbeats_off',
           'load_execution_data_together', 'prompt_joins')


# One action: makes Mistral's engine load the package's actions.
WARM_UP = """
version: '2.0'
%(name)s:
  tasks:
    noop:
      action: std.noop
"""


class SharedMistralTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        conf = base.cloud_conf('mistral.conf')
        # The opt-in patches are on in this cloud: the test runs the user
        # workflow with every patch the package has.
        for option in ('local_task_start', 'prompt_joins'):
            self.assertEqual(
                'true', conf['heat_mistral_engine'][option].lower(), option)
        # Mistral's engine installs the patches when it loads the
        # package's actions, with the first action it runs after a start:
        # a first workflow would run partly unpatched.
        missing = self.unpatched_engines()
        if missing is None or missing:
            self.run_workflow('warm_up')
        self.assertEqual({}, self.unpatched_engines())

    def unpatched_engines(self):
        """{engine pid: patches it has not logged} from mistral.log.

        An engine process is one whose engine server logged (its RPC
        requests); each patch logs one INFO line per process once applied
        (patches.base). None while no engine has logged.
        """
        engines, applied = set(), {}
        for line in self.mistral_log().splitlines():
            fields = line.split(None, 5)
            if len(fields) < 5:
                continue
            pid, logger = fields[2], fields[4]
            if logger == 'mistral.engine.engine_server':
                engines.add(pid)
            for option in PATCHES:
                if '([heat_mistral_engine] %s).' % option in line:
                    applied.setdefault(pid, set()).add(option)
        if not engines:
            return None
        missing = {pid: sorted(set(PATCHES) - applied.get(pid, set()))
                   for pid in engines}
        return {pid: left for pid, left in missing.items() if left}

    def run_workflow(self, which):
        """Create, run and wait for a user workflow; its outcome.

        ``which`` is a key of ``user_workflows.WORKFLOWS``, or
        ``warm_up``.

        The outcome is shaped as the unit test's (``outcome`` of
        check_user_workflows.py): the execution's state and output, and
        each task's state, published values, retry count and actions'
        states and outputs.
        """
        text, workflow_input, params = dict(
            user_workflows.WORKFLOWS, warm_up=(WARM_UP, {}, {}))[which]
        name = '%s_%s' % (which, uuid.uuid4().hex[:12])
        [workflow] = self.mistral.workflows.create(text % {'name': name})
        self.addCleanup(self.mistral.workflows.delete, workflow.id)
        execution = self.mistral.executions.create(
            workflow.id, workflow_input=workflow_input, **params)
        self.addCleanup(self.mistral.executions.delete, execution.id)
        execution = self.wait_for_execution(execution.id, timeout=120)
        tasks = {}
        for task in self.mistral.tasks.list(
                workflow_execution_id=execution.id, limit=-1):
            task = self.mistral.tasks.get(task.id)
            actions = [
                self.mistral.action_executions.get(a.id)
                for a in self.mistral.action_executions.list(task.id)]
            runtime = json.loads(task.runtime_context or '{}')
            tasks[task.name] = {
                'state': task.state,
                'published': json.loads(task.published or '{}'),
                'actions': sorted(
                    ([a.state, json.loads(a.output or '{}')]
                     for a in actions),
                    key=json.dumps),
                'retry_no': runtime.get('retry_task_policy', {}).get(
                    'retry_no'),
            }
        return {'state': execution.state,
                'output': json.loads(execution.output or '{}'),
                'tasks': tasks}

    def test_direct_workflow_ends_as_on_upstream_mistral(self):
        # publish, a join, with-items, retries, on-error.
        self.assertEqual(user_workflows.EXPECTED['user_direct'],
                         self.run_workflow('user_direct'))

    def test_reverse_workflow_ends_as_on_upstream_mistral(self):
        self.assertEqual(user_workflows.EXPECTED['user_reverse'],
                         self.run_workflow('user_reverse'))
