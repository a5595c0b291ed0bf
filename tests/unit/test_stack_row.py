"""stack_row reads what Heat's stack_get would, on Heat's test database."""

import fixtures
from heat.engine import resources
from heat.engine import stack as heat_stack
from heat.engine import template as heat_template
from heat.objects import stack as stack_object
from heat.tests import utils as heat_test_utils

from heat_mistral_engine.heat import stack_row
from tests.unit import base

TEMPLATE = {'heat_template_version': '2021-04-16', 'resources': {}}


class TraversalStateTest(base.TestCase):

    def setUp(self):
        super().setUp()
        resources.initialise()   # Heat's plugins and their options, once
        self.conf.config(
            keystone_backend='heat.engine.clients.os.keystone.'
                             'fake_keystoneclient.FakeKeystoneClient')
        heat_test_utils.setup_dummy_db()
        self.addCleanup(heat_test_utils.reset_dummy_db)
        self.ctx = heat_test_utils.dummy_context()
        self.stack = heat_stack.Stack(
            self.ctx, 'stack-row', heat_template.Template(TEMPLATE),
            convergence=True, status='IN_PROGRESS', action='CREATE',
            stack_user_project_id='stack-user-project')
        self.stack.store()
        self.traversal = self.stack.current_traversal

    def context(self, project_id, is_admin=False):
        return heat_test_utils.dummy_context(tenant_id=project_id,
                                             is_admin=is_admin)

    def test_the_columns_of_heat_s_row(self):
        self.assertIsNone(stack_row.columns_problem())
        row = stack_object.Stack.get_by_id(self.ctx, self.stack.id)
        self.assertEqual(
            stack_row.StackState(row.id, self.traversal, 'IN_PROGRESS'),
            stack_row.traversal_state(self.ctx, self.stack.id))

    def test_visible_as_to_heat_s_stack_get(self):
        for cnxt, visible in (
                (self.context('another-project'), False),
                (self.context('another-project', is_admin=True), True),
                (self.context('stack-user-project'), True),
                (self.context(self.ctx.project_id), True)):
            self.assertEqual(
                visible,
                stack_object.Stack.get_by_id(cnxt, self.stack.id)
                is not None)
            self.assertEqual(
                visible,
                stack_row.traversal_state(cnxt, self.stack.id) is not None)

    def test_missing_or_deleted_stack_is_none(self):
        self.assertIsNone(stack_row.traversal_state(self.ctx, 'no-such'))
        stack_object.Stack.delete(self.ctx, self.stack.id)
        self.assertIsNone(stack_row.traversal_state(self.ctx, self.stack.id))
        self.ctx.show_deleted = True
        self.assertEqual(self.traversal, stack_row.traversal_state(
            self.ctx, self.stack.id).current_traversal)

    def test_a_missing_column_falls_back_to_heat_s_read(self):
        self.useFixture(fixtures.MockPatchObject(
            stack_row, '_PROBLEM', 'heat.db.models.Stack has no status'))
        self.useFixture(fixtures.MockPatchObject(
            stack_row, '_read', side_effect=AssertionError('not used')))
        self.assertEqual(self.traversal, stack_row.traversal_state(
            self.ctx, self.stack.id).current_traversal)
