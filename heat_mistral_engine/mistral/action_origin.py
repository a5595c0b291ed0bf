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

"""The heat.* actions act only as tasks of generated workflow executions.

``heat.run_node`` and ``heat.hook_report`` hand what their input says to
the heat-engines. Whoever can use Mistral's API can run an action on its
own (``openstack action execution run heat.run_node '{...}'``), or as a
task of a workflow of their own, with any input. Until issue 28 such a
request reached heat-engine, where only the traversal token stood in its
way; with a token copied out of Mistral a tenant could fail or drive
another project's stack.

Now an action acts only when Mistral runs it as a task of a workflow
execution that heat-engine generated for the stack and the traversal its
input names (``refusal``). What decides is Mistral's own record of where
the action runs, never the input:

* the execution context Mistral hands the action (``context.execution``):
  an action run on its own has no workflow execution, and the workflow's
  name must be ``heat_stack_<stack id of the input>``;
* the row of that workflow execution in Mistral's database
  (``execution_origin``): it must belong to Heat's service project
  (``[heat_mistral_engine] service_project_id``; without authentication,
  Mistral's one project) and run the definition of the namespace named
  after the input's traversal, where heat-engine uploads each traversal's
  workflow (``heat.clients.mistral_api.MistralService.create_workflow``).
  A tenant can name a workflow of its own ``heat_stack_<id>`` and put it
  in a namespace of that name, but not in the service project: Mistral
  gives every object the project of the token that created it.

The check reads the database once per workflow execution and process:
one select of three columns by primary key, on a connection of its own
(not inside Mistral's transactions, nor under their process-wide lock),
remembered afterwards, since a workflow execution never changes its
project, workflow or namespace. A chain of 100 resources costs one query.

Mistral is imported inside the functions that need it, as the patches do
(``patches.base``): outside a Mistral process its import would register
Mistral's options into a foreign configuration.
"""

import collections
import functools

from oslo_config import cfg
from oslo_log import log as logging
import sqlalchemy as sa

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.mistral import options

LOG = logging.getLogger(__name__)

# Workflow executions remembered per process; one per running traversal
# is enough, the rest only saves a query.
CACHED_EXECUTIONS = 4096

Origin = collections.namedtuple('Origin', ['project_id', 'workflow_name',
                                           'namespace'])


class NotFound(LookupError):
    """No workflow execution has the id (not remembered)."""


def check(action_name, context, stack_id, traversal):
    """``refusal`` for an action's ``run(context)``; logs a refusal.

    Returns the sentence to fail the action execution with, or None. The
    WARNING in mistral.log names the action execution, its workflow
    execution and the project it runs for.
    """
    reason = refusal(action_name, context.execution, stack_id, traversal)
    if reason:
        execution = context.execution
        LOG.warning('%(name)s refused [action execution %(ax)s, execution '
                    '%(wf)s, project %(project)s]: %(reason)s',
                    {'name': action_name,
                     'ax': execution.action_execution_id,
                     'wf': execution.workflow_execution_id,
                     'project': getattr(context.security, 'project_id',
                                        None),
                     'reason': reason})
    return reason


def refusal(action_name, execution, stack_id, traversal, origin=None,
            project=None):
    """Why the action must not act, as one sentence; None if it may.

    :param action_name: ``heat.run_node`` or ``heat.hook_report``.
    :param execution: ``context.execution`` as Mistral hands it to the
        action (``mistral_lib`` ``ExecutionContext``).
    :param stack_id: the stack the action's input names.
    :param traversal: the traversal the action's input names.
    :param origin: callable(workflow execution id) -> ``Origin``, raising
        ``NotFound``; default ``execution_origin`` (Mistral's database).
    :param project: callable() -> the service project's id, or None when
        it is unknown; default ``service_project``.
    """
    origin = origin or execution_origin
    project = project or service_project
    wf_ex_id = getattr(execution, 'workflow_execution_id', None)
    expected = workflow.workflow_name(stack_id)
    if not wf_ex_id:
        return _sentence(action_name, 'this action execution was run on its '
                         'own, not as a task of a workflow execution')
    given = getattr(execution, 'workflow_name', None)
    if given != expected:
        return _sentence(action_name, 'it runs in an execution of workflow '
                         '%s, not %s' % (given, expected))
    service = project()
    if service is None:
        return _sentence(action_name, '[%s] service_project_id is not set in '
                         'mistral.conf, and Mistral authenticates its '
                         'callers: the project of the generated workflows '
                         'is unknown' % options.GROUP)
    try:
        found = origin(wf_ex_id)
    except NotFound:
        return _sentence(action_name, 'its workflow execution %s is not in '
                         'Mistral\'s database' % wf_ex_id)
    except Exception:
        # The tenant-visible sentence stays free of database details.
        LOG.exception('%s: could not read workflow execution %s from '
                      'Mistral\'s database', action_name, wf_ex_id)
        return _sentence(action_name, 'its workflow execution %s could not '
                         'be read from Mistral\'s database' % wf_ex_id)
    if found.project_id != service:
        return _sentence(action_name, 'its workflow execution %s belongs to '
                         'another project than Heat\'s service project'
                         % wf_ex_id)
    if found.workflow_name != expected:
        return _sentence(action_name, 'its workflow execution %s runs '
                         'workflow %s, not %s'
                         % (wf_ex_id, found.workflow_name, expected))
    if (found.namespace or '') != traversal:
        return _sentence(action_name, 'its workflow execution %s runs the '
                         'definition of namespace "%s", not that of '
                         'traversal %s' % (wf_ex_id, found.namespace or '',
                                           traversal))
    return None


def _sentence(action_name, why):
    return ('Refused by heat-mistral-engine: %s acts only as a task of a '
            'workflow execution that heat-engine generated for the stack '
            'and traversal of its input; %s. Nothing was sent to Heat.'
            % (action_name, why))


def service_project(conf=cfg.CONF):
    """The project the generated workflows belong to; None if unknown.

    With authentication, ``[heat_mistral_engine] service_project_id``.
    Without, Mistral puts every object in its default project, whoever
    creates it.
    """
    from mistral import config as mistral_config  # noqa: F401 ([pecan])
    from mistral.services import security
    if not conf.pecan.auth_enable:
        return security.DEFAULT_PROJECT_ID
    options.register_opts(conf)
    return conf[options.GROUP].service_project_id or None


@functools.lru_cache(maxsize=CACHED_EXECUTIONS)
def execution_origin(wf_ex_id):
    """``Origin`` of a workflow execution, from Mistral's database.

    One SELECT of three columns by primary key, on a connection from
    Mistral's engine pool; not in the caller's transaction, which an
    action thread does not have, nor under Mistral's ``tx_lock``, which
    serialises the engine's transactions. Remembered: none of the three
    columns ever changes. Raises ``NotFound`` (not remembered).

    A lost connection (Mistral's database restarting) is retried as
    Mistral retries its own transactions (``mistral.db.utils.
    retry_on_db_error``, about 80 s): refusing the node would fail the
    stack for a database that is back seconds later.
    """
    from mistral.db.sqlalchemy import base as db_base
    from mistral.db import utils as db_utils
    from mistral.db.v2.sqlalchemy import models
    table = models.WorkflowExecution.__table__
    query = sa.select(table.c.project_id, table.c.workflow_name,
                      table.c.workflow_namespace).where(
                          table.c.id == wf_ex_id)

    def select():
        with db_base.get_engine().connect() as connection:
            return connection.execute(query).first()

    row = db_utils.retry_on_db_error(select)()
    if row is None:
        raise NotFound(wf_ex_id)
    return Origin(*row)
