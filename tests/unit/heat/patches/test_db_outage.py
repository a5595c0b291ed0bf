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

"""db_outage: Heat's database calls outlast a lost connection.

On Heat's own test database (sqlite): the connection is "lost" by the
engine itself, at the statements a test picks (``LostConnection``), as
oslo.db reports a MariaDB that went away (``DBConnectionError`` with the
driver's message, which names the server).
"""

import fixtures
from heat.common import exception as heat_exception
from heat.db import api as db_api
from heat.objects import resource as resource_object
from oslo_db import exception as db_exception
import sqlalchemy

from heat_mistral_engine.heat.node import runner
from heat_mistral_engine.heat.patches import db_outage
from heat_mistral_engine.heat.patches import stack_row
from tests.unit import base

ADDRESS = '127.0.0.1:3316'
DRIVER_MESSAGE = ("(pymysql.err.OperationalError) (2003, \"Can't connect to "
                  "MySQL server on '%s' ([Errno 111] Connection refused)\")"
                  % ADDRESS)

TEMPLATE = {'heat_template_version': '2021-04-16', 'resources': {
    'slow': {'type': 'OS::Heat::TestResource',
             'properties': {'value': 'v'}}}}


class LostConnection(fixtures.Fixture):
    """The next ``times`` statements on ``table`` fail as on a lost server."""

    def __init__(self, table, times):
        super().__init__()
        self.table = table
        self.times = times
        self.failed = 0

    def _setUp(self):
        engine = db_api.get_engine()
        sqlalchemy.event.listen(engine, 'before_cursor_execute', self._lose)
        self.addCleanup(sqlalchemy.event.remove, engine,
                        'before_cursor_execute', self._lose)

    def _lose(self, conn, cursor, statement, parameters, context,
              executemany):
        if self.failed < self.times and self.table in statement:
            self.failed += 1
            raise db_exception.DBConnectionError(Exception(DRIVER_MESSAGE))


class DbOutageTest(base.HeatDbTestCase):

    stack_name = 'db-outage'
    template = TEMPLATE

    def setUp(self):
        super().setUp()
        self.addCleanup(db_outage.uninstall)
        # No waiting between retries; at most 3 of them.
        self.conf.config(db_retry_interval=0, db_max_retries=3,
                         group='database')
        self.logger = self.useFixture(fixtures.FakeLogger())
        self.stack.thread_group_mgr = runner.INLINE_EVENTS
        self.rsrc = self.stack['slow']
        self.rsrc.store()

    def create(self):
        """Heat's convergence create of the resource, as a node runs it."""
        self.rsrc.create_convergence(self.stack.t.id, set(), 'engine-1', 60)

    def stored(self):
        return resource_object.Resource.get_obj(self.ctx, self.rsrc.id)

    def test_without_it_a_lost_connection_fails_the_resource(self):
        # What tox -e chaos saw (row mariadb): Heat fails the action, and
        # its reason holds the database's address.
        self.useFixture(LostConnection('resource_data', 1))
        self.assertRaises(heat_exception.ResourceFailure, self.create)
        row = self.stored()
        self.assertEqual(('CREATE', 'FAILED'), (row.action, row.status))
        self.assertIn(ADDRESS, row.status_reason)

    def test_a_create_outlasts_lost_connections(self):
        self.assertTrue(db_outage.install(self.conf.conf))
        lost = self.useFixture(LostConnection('resource_data', 2))
        self.create()
        self.assertEqual(2, lost.failed)
        row = self.stored()
        self.assertEqual(('CREATE', 'COMPLETE'), (row.action, row.status))
        self.assertEqual('v', self.rsrc.data().get('value'))

    def test_reads_of_the_stack_row_outlast_them_too(self):
        self.assertTrue(db_outage.install(self.conf.conf))
        lost = self.useFixture(LostConnection('FROM stack', 2))
        self.assertEqual(self.stack.id, stack_row.traversal_state(
            self.ctx, self.stack.id).id)
        self.assertEqual(2, lost.failed)

    def test_when_retries_run_out_the_address_is_only_logged(self):
        self.assertTrue(db_outage.install(self.conf.conf))
        # The call and its 3 retries; the database is back for Heat's
        # FAILED state.
        lost = self.useFixture(LostConnection('resource_data', 4))
        exc = self.assertRaises(heat_exception.ResourceFailure, self.create)
        self.assertEqual(4, lost.failed)
        row = self.stored()
        self.assertEqual(('CREATE', 'FAILED'), (row.action, row.status))
        for reason in (str(exc), row.status_reason):
            self.assertNotIn(ADDRESS, reason)
            self.assertIn('Heat\'s database could not be reached (details '
                          'in Heat\'s log, request req-', reason)
        self.assertIn(ADDRESS, self.logger.output)

    def test_only_the_outermost_call_retries(self):
        calls = []

        def inner(context):
            calls.append('inner')
            if calls.count('inner') == 1:
                raise db_exception.DBConnectionError(Exception('lost'))
            return 'inner done'

        def outer(context):
            calls.append('outer')
            return db_api.inner(context)

        inner.__module__ = outer.__module__ = db_api.__name__
        self.useFixture(fixtures.MonkeyPatch('heat.db.api.inner', inner))
        self.useFixture(fixtures.MonkeyPatch('heat.db.api.outer', outer))
        self.assertTrue(db_outage.install(self.conf.conf))
        self.assertEqual('inner done', db_api.outer(self.ctx))
        # The inner call's transaction was the outer one's: both again.
        self.assertEqual(['outer', 'inner', 'outer', 'inner'], calls)

    def test_heat_s_own_retries_are_not_retried_again(self):
        heat_retried = sorted(
            name for name, func in db_outage.transactions().items()
            if db_outage.retries_already(func))
        self.assertEqual(
            ['event_create', 'resource_create_replacement',
             'resource_purge_deleted', 'resource_update', 'stack_lock_create',
             'stack_update', 'sync_point_create',
             'sync_point_update_input_data'],
            heat_retried)
        self.assertTrue(db_outage.install(self.conf.conf))
        # One call and Heat's 3 retries, not 4 x 4.
        lost = self.useFixture(LostConnection('INSERT INTO event', 20))
        exc = self.assertRaises(db_exception.DBConnectionError,
                                db_api.event_create, self.ctx,
                                {'stack_id': self.stack.id})
        self.assertEqual(4, lost.failed)
        self.assertNotIn(ADDRESS, str(exc))

    def test_transactions_are_heat_s_functions_taking_a_context(self):
        found = db_outage.transactions()
        for name in ('resource_get', 'resource_data_set', 'stack_get',
                     'resource_update', 'event_create', 'sync_point_create',
                     'service_update'):
            self.assertIn(name, found)
        for name in ('get_engine', 'retry_on_db_error', 'purge_deleted',
                     '_resource_update'):
            self.assertNotIn(name, found)

    def test_install_is_idempotent_and_uninstall_puts_heat_back(self):
        heat_get = db_api.resource_get
        self.assertFalse(db_outage.installed())
        self.assertTrue(db_outage.install(self.conf.conf))
        wrapped = db_api.resource_get
        self.assertIs(heat_get, wrapped.outlasts)
        self.assertTrue(db_outage.install(self.conf.conf))
        self.assertIs(wrapped, db_api.resource_get)
        db_outage.uninstall()
        self.assertIs(heat_get, db_api.resource_get)
        self.assertFalse(db_outage.installed())

    def test_off_leaves_heat_alone(self):
        self.conf.config(survive_db_restarts=False,
                         group='mistral_scheduler')
        heat_get = db_api.resource_get
        self.assertFalse(db_outage.install(self.conf.conf))
        self.assertIs(heat_get, db_api.resource_get)
        lost = self.useFixture(LostConnection('FROM stack', 1))
        self.assertRaises(db_exception.DBConnectionError,
                          stack_row.traversal_state, self.ctx, self.stack.id)
        self.assertEqual(1, lost.failed)

    def test_another_heat_is_left_alone(self):
        self.useFixture(fixtures.MockPatch(
            'heat_mistral_engine.heat.patches.heat_release.release_problem',
            return_value='found openstack-heat 26.0.0'))
        self.assertFalse(db_outage.install(self.conf.conf))
        self.assertFalse(db_outage.installed())
        self.assertIn('openstack-heat 26.0.0', self.logger.output)
