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

"""Run by tests/unit/mistral/patches/test_load_execution_data_together.py in
a child process: Mistral's options and Heat's clash in one process.

Installs the load_execution_data_together patch on the real Mistral models,
stores one workflow execution in an in-memory SQLite database through
SQLAlchemy, and reads its deferred columns back in fresh sessions, counting
the SELECT statements each read sends. Prints one JSON line. Arguments:
``disabled`` (the option off), ``missing-column`` (the patch is asked to
group a column that Mistral's model does not have).
"""

import json
import sys

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg

cfg.CONF([], project='mistral')
if 'disabled' in sys.argv[1:]:
    from heat_mistral_engine.mistral import options
    options.register_opts(cfg.CONF)
    cfg.CONF.set_override('load_execution_data_together', False,
                          group=options.GROUP)

import sqlalchemy  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy import orm  # noqa: E402
from mistral.db.v2.sqlalchemy import models  # noqa: E402

from heat_mistral_engine.mistral.patches import (  # noqa: E402
    load_execution_data_together)

if 'missing-column' in sys.argv[1:]:
    load_execution_data_together.EXECUTION_DATA_COLUMNS = ('input', 'gone')
installed = load_execution_data_together.PATCH.install()

engine = sqlalchemy.create_engine('sqlite://')
models.WorkflowExecution.__table__.create(engine)
selects = []


@event.listens_for(engine, 'before_cursor_execute')
def record(conn, cursor, statement, parameters, context, executemany):
    if statement.lstrip().upper().startswith('SELECT'):
        selects.append(' '.join(statement.split()))


with orm.Session(engine) as session:
    session.add(models.WorkflowExecution(
        id='wf-1', name='wf', state='RUNNING', spec={'name': 'wf'},
        input={'token': 'T'}, params={'env': {}}, context={'var': 1},
        output={}))
    session.commit()


def reads(*keys, change_context=False):
    """The values of ``keys``, read in that order, and the SELECTs sent."""
    del selects[:]
    with orm.Session(engine) as session:
        wf_ex = session.get(models.WorkflowExecution, 'wf-1')
        if change_context:
            # Changed before any read: the group load must leave it as is.
            wf_ex.context = {'changed': True}
        values = {key: getattr(wf_ex, key) for key in keys}
        if change_context:
            session.commit()
        return {'values': values, 'selects': list(selects)}


first = reads('params', 'context', 'input')
spec = reads('spec')
changed = reads('params', 'context', change_context=True)
stored = reads('context')
print(json.dumps({
    'incompatibility': load_execution_data_together.PATCH.incompatibility(),
    'installed': installed,
    'installed_again': load_execution_data_together.PATCH.install(),
    'first': first,
    'spec': spec,
    'changed': changed,
    'stored': stored['values'],
}))
