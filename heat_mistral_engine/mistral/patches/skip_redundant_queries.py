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

"""``skip_redundant_queries``: no queries for what a transaction holds.

Three of the queries Mistral 23's engine sends for each task read what its
transaction already holds:

* the publish of a task of a generated workflow
  (``{{ task().result.node }}``) calls ``task()``, which selects the task
  being completed by id (a full row) although the completing transaction
  has it in its session. The patch takes it from the session's identity
  map, which is the object the query would return, and queries as before
  when it is not there (another task's name, no transaction);
* each change of a task's or a workflow's state is a compare-and-swap
  (``update_on_match``: UPDATE ... WHERE id AND state), which oslo.db
  follows, on MySQL and SQLite, by a SELECT of the updated row's primary
  key, the id the UPDATE was given (two per resource: the task's RUNNING
  and SUCCESS). The patch makes the same UPDATE, checks that it matched
  one row, and makes the object persistent the same way
  (``manufacture_persistent_object``), without that SELECT.

Same for every workflow (``base.SAME_FOR_EVERY_WORKFLOW``): ``task()``
returns the object the query would, and only when the query would return
it (the task is visible to the caller as Mistral's secure query decides:
an admin context, the caller's project, or a public task); a state change
is the same UPDATE with the same outcome.

Install it before ``cache_expressions``, which keeps the expression
functions (``task`` among them) it finds (see ``registry``).
"""

import functools

from oslo_db.sqlalchemy import update_match
from oslo_log import log as logging
from sqlalchemy.orm import util as orm_util

from heat_mistral_engine.mistral.patches import base

LOG = logging.getLogger(__name__)

TASK_FUNCTION_PARAMS = ('context', 'task_name')
STATE_UPDATE_PARAMS = ('id', 'cur_state', 'state')


class SkipRedundantQueries(base.Patch):
    option = 'skip_redundant_queries'
    sharing = base.SAME_FOR_EVERY_WORKFLOW
    left_alone = 'Mistral\'s queries as they are'
    cost = 'each task selects rows its transaction already holds'
    applied = ('Mistral\'s engine reads the task being completed from its '
               'transaction and changes states without selecting the row '
               'back')

    def installed(self):
        from mistral.expressions import std_functions
        return bool(getattr(std_functions.task_, '_hme_original', None))

    def mistral_problem(self):
        from mistral.db.sqlalchemy import base as db_base
        from mistral.expressions import std_functions
        db_impl = _db_impl()
        problem = base.signature_problem((
            (base.original(std_functions.task_), TASK_FUNCTION_PARAMS),
            (std_functions._convert_to_user_model, ('task_ex',)),
            (base.original(db_impl.update_task_execution_state),
             STATE_UPDATE_PARAMS),
            (base.original(db_impl.update_workflow_execution_state),
             STATE_UPDATE_PARAMS),
            (update_match.manufacture_entity_criteria,
             ('entity', 'include_only', 'exclude')),
            (update_match.manufacture_persistent_object,
             ('session', 'specimen', 'values', 'primary_key')),
        ))
        if problem:
            return problem
        if not callable(getattr(db_base, '_get_thread_local_session', None)):
            return ('mistral.db.sqlalchemy.base._get_thread_local_session '
                    'is gone')
        return visibility_problem(db_impl)

    def apply(self):
        from mistral.db.v2.sqlalchemy import models
        from mistral.expressions import std_functions
        db_impl = _db_impl()
        std_functions.task_ = task_from_session(std_functions.task_)
        for name, model in (
                ('update_task_execution_state', models.TaskExecution),
                ('update_workflow_execution_state',
                 models.WorkflowExecution)):
            setattr(db_impl, name,
                    state_swapper(getattr(db_impl, name), model))


def _db_impl():
    """Mistral's SQLAlchemy database API, as its engine loads it."""
    from mistral.db.v2 import api as db_api  # noqa: F401 (loads db_impl)
    from mistral.db.v2.sqlalchemy import api as db_impl
    return db_impl


def visibility_problem(db_impl):
    """Why ``visible`` may no longer be Mistral's rule, or None."""
    from mistral import context as auth_ctx
    from mistral.db.v2.sqlalchemy import models
    from mistral.services import security
    problem = base.signature_problem((
        (db_impl._get_db_object_by_id,
         ('model', 'id', 'insecure', 'columns')),
        (db_impl._secure_query, ('model', 'columns')),
        (security.get_project_id, ()),
        (auth_ctx.has_ctx, ()),
    ))
    if problem:
        return problem
    if models.TaskExecution in getattr(db_impl, 'RESOURCE_MAPPING', {}):
        return 'task executions can now be shared with other projects'
    return None


def visible(task_ex):
    """True if Mistral's query of ``task_ex`` by id would return it.

    Mistral's ``get_task_execution`` queries without a project filter for
    an admin context, and otherwise only the tasks of the context's
    project and the public ones (``_secure_query``; task executions are
    never shared by membership).
    """
    from mistral import context as auth_ctx
    from mistral.services import security
    if auth_ctx.has_ctx() and auth_ctx.ctx().is_admin:
        return True
    return (task_ex.project_id == security.get_project_id() or
            task_ex.scope == 'public')


def task_from_session(task_):
    """Wrap Mistral's ``task()`` expression function (``task_``).

    ``task()`` for the task in whose scope an expression is evaluated (no
    name, or that task's own) returns the user view of the task execution
    object that the current transaction's session holds, when it holds
    it and Mistral's query by id would return it (``visible``): the
    object that query would return. Otherwise, and for other tasks,
    ``task_`` runs as before.
    """
    from mistral.db.sqlalchemy import base as db_base
    from mistral.db.v2.sqlalchemy import models
    from mistral.expressions import std_functions

    @functools.wraps(task_)
    def task_in_session(context, task_name=None):
        current = context.get('__task_execution')
        session = db_base._get_thread_local_session()
        if (current and session is not None and
                (not task_name or current['name'] == task_name)):
            task_ex = session.identity_map.get(orm_util.identity_key(
                models.TaskExecution, current['id']))
            if (task_ex is not None and task_ex not in session.deleted and
                    visible(task_ex)):
                return std_functions._convert_to_user_model(task_ex)
        return task_(context, task_name)

    task_in_session._hme_original = base.original(task_)
    return task_in_session


def state_swapper(original, model):
    """``update_<model>_state(id, cur_state, state)`` without the re-select.

    What Mistral's ``update_on_match`` does for a state change with
    oslo.db's ``update_on_match``, less the SELECT that oslo.db sends on
    databases without RETURNING to learn the primary key of the row it
    updated: here the key is the ``id`` the UPDATE matched on. Returns the
    persistent object with its new state, or None (logged at INFO, as
    Mistral does) when the row is no longer in ``cur_state``.
    """
    from mistral.db.sqlalchemy import base as db_base

    @db_base.session_aware()
    def swap(id, cur_state, state, session=None):
        # Mistral flushes first: the UPDATE bypasses the session's
        # pending changes (Mistral bug 1736821).
        session.flush()
        specimen = model(id=id, state=cur_state)
        criteria = update_match.manufacture_entity_criteria(
            specimen, exclude=['id'])
        values = {'state': state}
        matched = db_base.model_query(model, session=session).filter(
            model.id == id).filter(criteria).update(
                values, synchronize_session=False)
        if matched != 1:
            LOG.info("Can't change state of persistent object because it "
                     "has already been changed. [model_class=%s, id=%s, "
                     "specimen=%s, values=%s]", model, id, specimen, values)
            return None
        return update_match.manufacture_persistent_object(
            session, model(), dict(values, id=id), (id,))

    @functools.wraps(original)
    def update_state(id, cur_state, state):
        return swap(id, cur_state, state)

    update_state._hme_original = base.original(original)
    return update_state


PATCH = SkipRedundantQueries()
