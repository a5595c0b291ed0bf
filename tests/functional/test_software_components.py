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

"""Software configs and components as Mistral tasks, through the CLI.

Software deployments (OS::Heat::SoftwareDeployment and its structured and
group forms) signalled with HEAT_SIGNAL are tested in
tests/functional_restart/test_software_signal.py: the signal needs the
local cloud's Keystone mode (this suite runs without Keystone, where
heat-engine cannot handle a deployment's signal). Their hosted_on edge
from ``server`` is covered offline by tests/unit (kinds.yaml).
"""

import json

from tests.functional import base

# (predecessor, dependent, kinds) in software.yaml.
EDGES = [
    ('host', 'base_config', ['get_attr']),
    ('host', 'app', ['hosted_on']),
    ('base_config', 'app', ['get_attr', 'get_resource']),
    ('host', 'monitor', ['hosted_on']),
    ('app', 'monitor', ['get_resource']),
]
NAMES = ['host', 'base_config', 'app', 'monitor']


class SoftwareComponentTest(base.FunctionalTest):

    def test_components_run_in_dependency_order(self):
        stack = self.create_stack(self.template('software.yaml'))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)

        # Heat's events: each dependent began after its predecessor ended.
        self.assert_started_after(self.events(stack.id), 'CREATE',
                                  [(a, b) for a, b, _kinds in EDGES])
        # Mistral's tasks: each dependent task started once its
        # predecessor had finished (timestamps have one-second resolution;
        # finished_at is set before Mistral schedules the successors, unlike
        # updated_at).
        execution, tasks = self.assert_tasks_succeeded(stack.id, NAMES)
        for first, then, _kinds in EDGES:
            self.assertLessEqual(tasks[first].finished_at,
                                 tasks[then].started_at,
                                 '%s -> %s' % (first, then))

        # The data went through Mistral: the host's output is in the
        # component's stored configs, and monitor got the component's id.
        outputs = self.outputs(stack.id)
        self.assertEqual(outputs['app_config_id'], outputs['monitor'])
        component = self.heat.software_configs.get(outputs['app_config_id'])
        self.assertEqual('component', component.group)
        self.assertEqual(
            [{'actions': ['CREATE', 'UPDATE'], 'config': 'echo prepare vm-1',
              'tool': 'script'},
             {'actions': ['DELETE'], 'config': 'echo remove',
              'tool': 'script'}],
            component.config['configs'])
        # Only referenced attributes travel.
        self.assertEqual({'output': 'vm-1'},
                         tasks['host'].result_value['attrs'])
        self.assertEqual({'config': 'echo prepare vm-1'},
                         tasks['base_config'].result_value['attrs'])

        # The live graph shows the same edges, with their kinds.
        shown = base.openstack('stack', 'workflow', 'show', stack.id)
        self.assertEqual(execution.id, shown['execution'])
        self.assertEqual(
            sorted(({'from': a, 'to': b, 'kinds': k} for a, b, k in EDGES),
                   key=json.dumps),
            sorted(shown['edges'], key=json.dumps))

        # Delete: what is hosted goes before its host.
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        delete = self.execution_of(stack.id, 'DELETE')
        self.assertEqual('SUCCESS', delete.state, delete.state_info)
        tasks = self.tasks(delete.id)
        self.assertEqual(sorted(NAMES), sorted(tasks))
        for first, then, _kinds in EDGES:
            self.assertLessEqual(tasks[then].finished_at,
                                 tasks[first].started_at,
                                 'delete %s before %s' % (then, first))
