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

"""Every name Heat accepts works on PostgreSQL too (issue 28, item 5).

The cloud is restarted once with ``DEVCLOUD_DB_BACKEND=postgresql``
(Heat's and Mistral's databases on the machine's PostgreSQL), runs the
checks of ``tests/functional/test_template_text.py`` there (255-character
resource names created, replaced and deleted; names in Jinja and YAQL kept
as text), and is put back on MariaDB when the test ends.
"""

import os
import subprocess

import fixtures

from tests.functional import base
from tests.functional import test_template_text
from tests.functional_restart import faults

BACKEND = 'DEVCLOUD_DB_BACKEND'


class PostgreSQLCloud(fixtures.Fixture):
    """Restart the cloud on PostgreSQL; restart it on MariaDB after."""

    def _setUp(self):
        # Cleanups run last first: the variable goes, then the restart.
        self.addCleanup(faults.devcloud, 'restart')
        self.useFixture(fixtures.EnvironmentVariable(BACKEND, 'postgresql'))
        faults.devcloud('restart')


def pg_query(database, query):
    """One value of ``query`` in the cloud's PostgreSQL ``database``."""
    proc = subprocess.run(
        ['psql', '-h', os.environ.get('DEVCLOUD_PG_HOST', '127.0.0.1'),
         '-U', os.environ.get('DEVCLOUD_PG_USER', 'root'), '-d', database,
         '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', query],
        capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout.strip()


class PostgreSQLTest(test_template_text.TemplateTextChecks,
                     base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.useFixture(PostgreSQLCloud())
        self.write_templates()
        prefix = os.environ.get('DEVCLOUD_DB_PREFIX', 'hme')
        self.heat_db = '%s_heat' % prefix
        self.mistral_db = '%s_mistral' % prefix

    def assert_stored_in_postgresql(self, stack_id):
        """Heat's stack row and Mistral's executions are PostgreSQL's."""
        self.assertEqual('1', pg_query(
            self.heat_db, "SELECT COUNT(*) FROM stack WHERE id = '%s'"
            % stack_id))
        self.assertNotEqual('0', pg_query(
            self.mistral_db, "SELECT COUNT(*) FROM workflow_executions_v2 "
            "WHERE workflow_name = 'heat_stack_%s'" % stack_id))

    def create_stack(self, *args, **kwargs):
        stack = super().create_stack(*args, **kwargs)
        self.assert_stored_in_postgresql(stack.id)
        return stack

    def test_names_on_postgresql(self):
        self.check_longest_names()
        self.check_expressions_stay_text()
