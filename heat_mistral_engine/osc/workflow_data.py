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

"""Where ``openstack stack workflow show`` gets its data.

The stack's executions belong to the service project, which the user
cannot read in Mistral. heat-api serves what the user may see of them
(``heat_mistral_engine.heat.api``): ``GET
/stacks/{stack_name}/{stack_id}/workflow`` on the orchestration endpoint
of the user's own session, checked with Heat's rules as ``openstack stack
show`` is. ``fetch`` calls it; the ``OS::Mistral::Hook`` details come
from the user's own project (the hook's execution is the user's), with
the user's Mistral client.
"""

from urllib import parse

from heatclient.common import utils as heat_utils
from heatclient import exc as heat_exc
from osc_lib import exceptions

from heat_mistral_engine.heat.api import rows as view_rows

HOOK_TYPE = 'OS::Mistral::Hook'
NOT_SERVED = (
    'heat-api does not serve the workflow of stacks '
    '(GET %s answered 404 Not Found): the operator has to add '
    'heat-mistral-engine\'s workflow_view filter to heat-api\'s paste '
    'pipeline (see "Let users see their stacks\' workflows" in '
    'heat-mistral-engine\'s operator guide).')


def workflow_path(stack):
    """The view's path, relative to the orchestration endpoint."""
    return '/stacks/%s/%s/workflow' % (parse.quote(stack.stack_name, ''),
                                       parse.quote(stack.id, ''))


def fetch(client_manager, stack):
    """heat-api's workflow view of ``stack`` (a heatclient Stack), a dict.

    Keys as ``heat.api.view.build`` makes them, plus ``stack_id``,
    ``stack_name`` and ``stack_status``; each task row of a hook resource
    gains ``hook`` (see ``add_hooks``). Heat's own errors (the stack is
    gone, 403, 503...) are raised as heatclient raises them; a heat-api
    without the view raises CommandError saying what the operator has to
    do.
    """
    heat = client_manager.orchestration
    path = workflow_path(stack)
    try:
        answer = heat.http_client.get(path)
    except heat_exc.HTTPNotFound as err:
        # Heat's faultwrap answers the view's 404s (the stack is not
        # found) with an error type; heat-api's router, which does not
        # know the path, with none.
        inner = err.error.get('error')
        if isinstance(inner, dict) and inner.get('type'):
            raise
        raise exceptions.CommandError(NOT_SERVED % path)
    found = heat_utils.get_response_body(answer)['workflow']
    if found['execution'] is not None:
        add_hooks(found['tasks'], hook_details(
            heat, lambda: client_manager.workflow_engine, stack.id))
    return found


def hook_details(heat, mistral, stack_id):
    """{resource name: {workflow, execution, state}} for the stack's hooks.

    Read from each hook's ``execution_id`` attribute and that execution in
    Mistral, visible to the stack's own project, which ran it.
    ``mistral()`` returns the user's Mistral client; it is called only for
    a hook that started an execution.
    """
    details = {}
    for rsrc in heat.resources.list(stack_id):
        if rsrc.resource_type != HOOK_TYPE:
            continue
        shown = heat.resources.get(stack_id, rsrc.resource_name)
        execution_id = (shown.attributes or {}).get('execution_id')
        found = {'workflow': None, 'execution': execution_id,
                 'state': view_rows.NOT_STARTED}
        if execution_id:
            execution = mistral().executions.get(execution_id)
            found.update(workflow=execution.workflow_name,
                         state=execution.state)
        details[rsrc.resource_name] = found
    return details


def add_hooks(rows, details):
    """Put each hook's details on its resource's own task rows.

    Operator hook tasks around that resource keep only their own columns.
    """
    for row in rows:
        if (row['resource'] in details
                and not (row['action'] or '').startswith('hook ')):
            row['hook'] = details[row['resource']]
    return rows
