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

"""The paste filter: Heat's rules decide who sees a stack's workflow.

heat-engine's ``show_stack`` and ``identify_stack`` run in-process on
Heat's test database, behind Heat's own API decorator, policy and fault
middleware, as in heat-api.
"""

import json
import types
from unittest import mock

from heat.api.middleware import fault
from heat.engine import service as heat_service
from heat.engine import stack as heat_stack
from heat.engine import template as heat_template
from heat.tests import utils as heat_test_utils
from oslo_config import cfg
import oslo_messaging
import webob

from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.api import workflow_view
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine import execution_link
from tests.unit import base

READER = ['member', 'reader']
ADMIN = ['admin', 'member', 'reader']


class InProcessEngine:
    """heat-engine's RPC methods the filter calls, on Heat's test DB."""

    def __init__(self):
        self.engine = heat_service.EngineService('a-host', 'a-topic')

    def show_stack(self, ctx, identity, resolve_outputs=True):
        return self.call(self.engine.show_stack, ctx, identity,
                         resolve_outputs)

    def identify_stack(self, ctx, stack_name):
        return self.call(self.engine.identify_stack, ctx, stack_name)

    @staticmethod
    def call(method, *args):
        # Heat's engine wraps its errors for the RPC server, which sends
        # the error inside (the client raises it as <name>_Remote).
        try:
            return method(*args)
        except oslo_messaging.ExpectedException as wrapped:
            raise wrapped.exc_info[1]


class FakeService:
    """What MistralService answers: one execution, nested ones in its tree.

    ``asked`` records every call, to show that Mistral is never read for
    a caller Heat refused.
    """

    def __init__(self, stack_id, nested=(), fail=False):
        self.stack_id = stack_id
        self.nested = nested
        self.fail = fail
        self.asked = []

    def get(self):
        return self

    def executions_of(self, name):
        self.asked.append(name)
        if self.fail:
            raise mistral_api.MistralUnavailable(
                'Mistral at http://10.0.0.9:8989/v2 failed: boom')
        return [types.SimpleNamespace(
            id='ex', state='SUCCESS', created_at='c', updated_at='u',
            workflow_id='wf', root_execution_id=None, params={},
            description='Heat stack s (%s) CREATE, traversal tr'
                        % self.stack_id,
            input={'stack_id': self.stack_id, 'traversal': 'tr',
                   'token': 'gAAAAAsealed'})]

    def own_definition(self, workflow_id):
        graph = model.TaskGraph([model.Node(1, True, 'db'),
                                 model.Node(2, True, 'app')],
                                [((1, True), (2, True))])
        return workflow.to_yaml(workflow.build(
            graph, workflow.workflow_name(self.stack_id)))

    def tasks_of(self, execution_id):
        return [types.SimpleNamespace(
            id='t1', name='db', state='SUCCESS', started_at='s',
            finished_at='f', state_info=None, published={})]

    def executions_in_tree(self, root_execution_id):
        link = execution_link.params(
            {'stack_id': self.stack_id, 'resource': 'app',
             'execution_id': 'ex', 'task': 'app', 'task_execution_id': 't2'},
            'ex')
        return [types.SimpleNamespace(
            id='n-%s' % stack_id, state='SUCCESS', created_at='c',
            updated_at='u', input={'stack_id': stack_id}, params=link)
            for stack_id in self.nested]


class WorkflowViewTest(base.HeatDbTestCase):

    def setUp(self):
        super().setUp()
        # Heat's faultwrap reads oslo.log's [DEFAULT] debug.
        if 'debug' not in cfg.CONF:
            self.conf.register_opt(cfg.BoolOpt('debug', default=False))
        self.engine = InProcessEngine()
        self.service = FakeService(self.stack.id)
        self.passed = []

    def app(self):
        def heat_api(environ, start_response):
            self.passed.append((environ['REQUEST_METHOD'],
                                environ['PATH_INFO']))
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [b'heat']
        # faultwrap is earlier than the filter in every Heat pipeline.
        return fault.FaultWrapper(workflow_view.WorkflowView(
            heat_api, engine=self.engine, service=self.service))

    def get(self, ctx, tenant=None, name=None, stack_id=None,
            method='GET', suffix='/workflow'):
        req = webob.Request.blank('/%s/stacks/%s/%s%s' % (
            tenant or ctx.project_id, name or self.stack.name,
            stack_id or self.stack.id, suffix), method=method)
        req.context = ctx
        return req.get_response(self.app())

    def caller(self, project=None, roles=READER, is_admin=False):
        return heat_test_utils.dummy_context(
            tenant_id=project or self.ctx.project_id, roles=roles,
            is_admin=is_admin)

    def store_stack(self, name, project):
        other = heat_stack.Stack(
            heat_test_utils.dummy_context(tenant_id=project), name,
            heat_template.Template(self.template), convergence=True)
        other.store()
        return other.id

    def test_the_owner_sees_tasks_states_and_edges(self):
        answer = self.get(self.caller())
        self.assertEqual(200, answer.status_int, answer.text)
        found = answer.json['workflow']
        self.assertEqual((self.stack.id, 'stack', 'CREATE_IN_PROGRESS'),
                         (found['stack_id'], found['stack_name'],
                          found['stack_status']))
        self.assertEqual('ex', found['execution']['id'])
        self.assertEqual([('db', 'SUCCESS'), ('app', 'NOT STARTED')],
                         [(r['task'], r['state']) for r in found['tasks']])
        self.assertEqual([{'from': 'db', 'to': 'app', 'kinds': []}],
                         found['edges'])
        self.assertNotIn('gAAAAA', answer.text)
        self.assertEqual([workflow.workflow_name(self.stack.id)],
                         self.service.asked)
        self.assertEqual([], self.passed)

    def test_another_project_gets_not_found_and_nothing(self):
        answer = self.get(self.caller('another-project'))
        self.assertEqual(404, answer.status_int, answer.text)
        self.assertEqual('EntityNotFound', answer.json['error']['type'])
        self.assertNotIn('"execution"', answer.text)
        self.assertEqual([], self.service.asked)

    def test_another_project_through_the_owners_url_is_forbidden(self):
        answer = self.get(self.caller('another-project'),
                          tenant=self.ctx.project_id)
        self.assertEqual(403, answer.status_int, answer.text)
        self.assertEqual([], self.service.asked)

    def test_the_policy_of_stack_show_applies(self):
        answer = self.get(self.caller(roles=['heat_stack_user']))
        self.assertEqual(403, answer.status_int, answer.text)
        self.assertEqual([], self.service.asked)

    def test_a_wrong_name_is_not_found(self):
        answer = self.get(self.caller(), name='not-the-name')
        self.assertEqual(404, answer.status_int, answer.text)
        self.assertEqual([], self.service.asked)

    def test_an_admin_sees_any_projects_stack(self):
        answer = self.get(self.caller('admin-project', ADMIN, is_admin=True))
        self.assertEqual(200, answer.status_int, answer.text)
        self.assertEqual(self.stack.id,
                         answer.json['workflow']['stack_id'])

    def test_nested_stacks_of_another_project_are_left_out(self):
        mine = self.store_stack('mine', self.ctx.project_id)
        theirs = self.store_stack('theirs', 'another-project')
        self.service.nested = (mine, theirs)
        found = self.get(self.caller()).json['workflow']
        self.assertEqual([mine], [r['stack_id'] for r in found['nested']])
        # An admin sees both, as Heat shows an admin both stacks.
        admin = self.caller('admin-project', ADMIN, is_admin=True)
        found = self.get(admin).json['workflow']
        self.assertEqual(sorted([mine, theirs]),
                         sorted(r['stack_id'] for r in found['nested']))

    def test_a_name_that_looks_like_an_id_is_not_the_stack(self):
        # identify_stack falls back to names: a stack of mine named like
        # another project's stack id must not make that stack visible.
        theirs, tries = '0', 0
        while not theirs[0].isalpha():   # a stack name starts with one
            tries += 1
            theirs = self.store_stack('theirs%d' % tries, 'another-project')
        self.store_stack(theirs, self.ctx.project_id)
        self.service.nested = (theirs,)
        found = self.get(self.caller()).json['workflow']
        self.assertEqual([], found['nested'])

    def test_mistral_failure_is_a_503_without_mistrals_details(self):
        self.service.fail = True
        answer = self.get(self.caller())
        self.assertEqual(503, answer.status_int, answer.text)
        self.assertNotIn('10.0.0.9', answer.text)
        self.assertIn('Try again later', answer.text)

    def test_everything_else_goes_to_heat(self):
        ctx = self.caller()
        for method, suffix in (('GET', ''), ('GET', '/resources'),
                               ('POST', '/workflow'),
                               ('DELETE', '/workflow'),
                               ('GET', '/workflow/x')):
            answer = self.get(ctx, method=method, suffix=suffix)
            self.assertEqual(b'heat', answer.body, (method, suffix))
        self.assertEqual(5, len(self.passed))
        self.assertEqual([], self.service.asked)

    def test_paste_factory(self):
        with mock.patch.object(workflow_view.rpc_client, 'EngineClient'):
            made = workflow_view.filter_factory({})(lambda e, s: None)
        self.assertIsInstance(made, workflow_view.WorkflowView)

    def test_view_json_is_what_the_osc_command_reads(self):
        found = json.loads(self.get(self.caller()).text)['workflow']
        self.assertEqual(
            {'workflow', 'execution', 'tasks', 'edges', 'parent', 'nested',
             'stack_id', 'stack_name', 'stack_status'}, set(found))
