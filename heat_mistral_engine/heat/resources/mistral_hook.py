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

"""``OS::Mistral::Hook``: run the user's own Mistral workflow as a resource.

A hook is a real Heat resource, so events, states, locks, rollback, the
stack timeout and breakpoint hooks are Heat's own, and it is placed in the
stack's graph by its dependencies like any resource (the scheduler runs it
with ``heat.run_node``; native Heat runs it too).

Contract:

* Properties: ``workflow`` (name or id, required), ``input`` (map),
  ``timeout`` (seconds per execution), ``retry`` ({count, delay}),
  ``delete_workflow`` and ``delete_input``.
* Create starts an execution of ``workflow`` with ``input`` through Heat's
  Mistral client plugin, i.e. with the STACK'S OWN credentials (the
  stack's stored context: the user's token, or the trust Heat holds for
  the user), so the workflow runs in the stack's project and can reach no
  other project's workflows or executions. The generated traversal
  workflows belong to the service project, which is why the hook is not a
  literal Mistral sub-workflow task (doc/source/user-guide.rst).
* Heat polls the execution (``check_create_complete``). Success stores the
  execution's output in resource data: attribute ``output`` (Heat
  attribute paths work: ``get_attr: [hook, output, key]``) and
  ``execution_id`` keep working without Mistral.
* Failure fails the resource with the workflow's own error: ``Hook
  workflow WF failed: MESSAGE``; a timed-out execution is cancelled and
  the resource fails naming the hook and the timeout. ``retry`` re-runs a
  failed or timed-out execution ``count`` times, ``delay`` seconds apart.
* Update: a changed ``workflow`` or ``input`` runs the workflow again and
  replaces ``output``; other changes only take effect for later runs.
* Delete runs ``delete_workflow`` with ``delete_input`` when given, and
  nothing otherwise; an execution of the hook still running is cancelled,
  as is one left running when the hook runs again (e.g. its engine died).
* ``validate()`` (stack create, update, validate and preview, before
  anything is created) refuses a workflow that Mistral does not show the
  stack's project, input keys the workflow does not declare and required
  inputs that are missing; values (maybe from get_attr, unknown yet) are
  not checked.
* Hidden parameters (``hidden: true``) read into ``input`` or
  ``delete_input`` (``hidden_input``) are stored by Mistral in clear
  text, so the user is told, in the two places Heat lets a resource say
  something that is no error: ``openstack orchestration template
  validate`` lists it under ``Warnings`` (``validate_warnings``), and
  each run that sends such an input first adds a stack event of the hook
  saying so (``resource_events``).
"""

import collections.abc
import math

from heat.common import exception
from heat.engine import attributes
from heat.engine import constraints
from heat.engine import properties
from heat.engine import resource
from heat.engine import support
from oslo_context import context as oslo_context
from oslo_log import log as logging
from oslo_serialization import jsonutils
import yaml

from heat_mistral_engine.heat.patches import resource_events
from heat_mistral_engine.heat.patches import validate_warnings
from heat_mistral_engine.heat.resources import hidden_input
from heat_mistral_engine.heat.resources import mistral_hook_run

LOG = logging.getLogger(__name__)

RESOURCE_TYPE = 'OS::Mistral::Hook'
# Mistral keeps an execution's description in a 255-character column.
MAX_DESCRIPTION = 255


def declared_input(workflow):
    """(all names, required names) of a mistralclient Workflow's input.

    Mistral 23 returns ``interface`` (as JSON text); older APIs only the
    definition, whose ``input`` list holds names (required) and one-key
    maps (name: default).
    """
    interface = getattr(workflow, 'interface', None) or {}
    if isinstance(interface, str):   # Mistral's API sends it as JSON text
        interface = jsonutils.loads(interface)
    params = interface.get('input')
    if params is None:
        spec = yaml.safe_load(workflow.definition or '') or {}
        body = spec.get(workflow.name) or {}
        params = body.get('input') or []
    names, required = set(), set()
    for param in params:
        if isinstance(param, dict):
            names.update(param)
        else:
            names.add(param)
            required.add(param)
    return names, required


def input_problems(workflow_name, names, required, given):
    """Messages for input keys ``given`` that ``names``/``required`` refuse."""
    problems = []
    unknown = sorted(set(given) - names)
    if unknown:
        problems.append('input %s not declared by workflow %s (it takes: '
                        '%s)' % (', '.join(unknown), workflow_name,
                                 ', '.join(sorted(names)) or 'no input'))
    missing = sorted(required - set(given))
    if missing:
        problems.append('workflow %s requires input %s' % (
            workflow_name, ', '.join(missing)))
    return problems


def execution_description(rsrc, action):
    """``Heat hook RESOURCE of stack NAME (ID) ACTION, traversal T``.

    The traversal id is the one in the description (and input) of the
    stack's generated execution, which links the two in Mistral; the stack
    name is shortened to fit Mistral's column, the ids stay whole.
    """
    stack = rsrc.stack
    text = 'Heat hook %s of stack %s (%s) %s, traversal %s'
    ids = (stack.id, action, stack.current_traversal)
    room = MAX_DESCRIPTION - len(text % ((rsrc.name, '') + ids))
    name = stack.name or ''
    if len(name) > room:
        name = name[:max(room - 3, 0)] + '...'
    return (text % ((rsrc.name, name) + ids))[:MAX_DESCRIPTION]


class MistralHook(resource.Resource):
    """Runs a Mistral workflow of the stack's project as a stack resource.

    The workflow's execution is a node of the stack's graph: it starts
    after the resources its input (or ``depends_on``) refers to, and the
    resources that refer to its ``output`` start after it succeeded.
    """

    support_status = support.SupportStatus(version='27.0.0')

    default_client_name = 'mistral'

    PROPERTIES = (
        WORKFLOW, INPUT, TIMEOUT, RETRY, DELETE_WORKFLOW, DELETE_INPUT,
    ) = (
        'workflow', 'input', 'timeout', 'retry', 'delete_workflow',
        'delete_input',
    )

    _RETRY_KEYS = (RETRY_COUNT, RETRY_DELAY) = ('count', 'delay')

    ATTRIBUTES = (OUTPUT, EXECUTION_ID) = ('output', 'execution_id')

    # Properties whose change runs the workflow again on update.
    RERUN_ON_CHANGE = (WORKFLOW, INPUT)

    properties_schema = {
        WORKFLOW: properties.Schema(
            properties.Schema.STRING,
            'Name or id of the Mistral workflow to run (default namespace).',
            required=True, update_allowed=True),
        INPUT: properties.Schema(
            properties.Schema.MAP,
            'Input of the workflow; values may use get_attr and '
            'get_resource.',
            default={}, update_allowed=True),
        TIMEOUT: properties.Schema(
            properties.Schema.INTEGER,
            'Seconds one execution may run before it is cancelled and '
            'counts as failed. Unset: only the stack timeout applies.',
            constraints=[constraints.Range(min=1)], update_allowed=True),
        RETRY: properties.Schema(
            properties.Schema.MAP,
            'Run a failed or timed-out execution again.',
            schema={
                RETRY_COUNT: properties.Schema(
                    properties.Schema.INTEGER,
                    'How many more executions after the first fails.',
                    constraints=[constraints.Range(min=0)], default=0),
                RETRY_DELAY: properties.Schema(
                    properties.Schema.INTEGER,
                    'Seconds between a failure and the next execution.',
                    constraints=[constraints.Range(min=0)], default=0),
            },
            default={}, update_allowed=True),
        DELETE_WORKFLOW: properties.Schema(
            properties.Schema.STRING,
            'Workflow (name or id) to run when the hook is deleted. '
            'Unset: delete runs nothing.',
            update_allowed=True),
        DELETE_INPUT: properties.Schema(
            properties.Schema.MAP,
            'Input of the delete workflow.',
            default={}, update_allowed=True),
    }

    attributes_schema = {
        OUTPUT: attributes.Schema(
            'Output of the workflow execution (a map; use a path to read '
            'one key).', type=attributes.Schema.MAP),
        EXECUTION_ID: attributes.Schema(
            'Id of the latest Mistral execution of the hook.',
            type=attributes.Schema.STRING),
    }

    # -- validation -------------------------------------------------------
    def validate(self):
        result = super().validate()
        if result:
            return result
        self._validate_workflow(self.WORKFLOW, self.INPUT)
        if self.properties[self.DELETE_WORKFLOW]:
            self._validate_workflow(self.DELETE_WORKFLOW, self.DELETE_INPUT)

    def validate_template(self):
        # What ``openstack orchestration template validate`` runs instead
        # of validate(): the one check whose answer can carry a warning.
        result = super().validate_template()
        for key in (self.INPUT, self.DELETE_INPUT):
            text = self._hidden_input_warning(self.t, key)
            if text:
                validate_warnings.warn('Resource %s: %s' % (self.name, text))
        return result

    def _hidden_input_warning(self, definition, input_key):
        """What the user is told of hidden parameters in ``input_key``.

        Read from ``definition`` (a ResourceDefinition), whose functions
        are not resolved yet: a delete's ``self.properties`` hold the
        stored values, with no trace of where they came from.
        """
        props = definition.properties(self.properties_schema, self.context)
        names = hidden_input.hidden_parameters(
            self.stack.parameters, props.data.get(input_key))
        return names and hidden_input.warning(names, input_key)

    def _validate_workflow(self, workflow_key, input_key):
        name = self.properties[workflow_key]
        try:
            workflow = self.client().workflows.get(name)
        except Exception as exc:
            if self.client_plugin().is_not_found(exc):
                message = ('Mistral workflow %s not found (or not visible '
                           'to project %s)' % (name, self.context.project_id))
            else:
                # The client's error can name Mistral's internal URL: it
                # goes to the log, the user gets the request id.
                request_id = oslo_context.generate_request_id()
                LOG.warning('[%s] Cannot check Mistral workflow %s of '
                            'resource %s: %s', request_id, name, self.name,
                            exc)
                message = ('cannot check workflow %s: Mistral (workflowv2) '
                           'is unreachable or failed (details in Heat\'s '
                           'log, request %s)' % (name, request_id))
            raise self._property_error(workflow_key, message)
        raw = self.properties.data.get(input_key)
        if raw is not None and not isinstance(raw, collections.abc.Mapping):
            return   # the whole map comes from a function: keys unknown
        names, required = declared_input(workflow)
        problems = input_problems(name, names, required,
                                  self.properties[input_key] or {})
        if problems:
            raise self._property_error(input_key, '; '.join(problems))

    def _property_error(self, key, message):
        """As Heat reports a bad property: the path names the hook."""
        return exception.StackValidationFailed(
            error='Property error',
            path=[self.stack.t.RESOURCES, self.name,
                  self.stack.t.get_section_name('properties'), key],
            message=message)

    # -- runs ---------------------------------------------------------------
    def _run(self, definition, props, workflow_key, input_key, action):
        """Start a run of ``workflow_key`` with ``input_key``; return it.

        ``props`` are the Properties of ``definition``, resolved. When
        hidden parameters reach that input, a stack event of the hook says
        so first: Mistral is about to store them in clear text.
        """
        text = self._hidden_input_warning(definition, input_key)
        if text:
            resource_events.add(self, text)
        return self._start(self._new_run(props, workflow_key, input_key,
                                         action))

    def _new_run(self, props, workflow_key, input_key, action):
        retry = props[self.RETRY] or {}
        return mistral_hook_run.MistralHookRun(
            self.client(), self.name, props[workflow_key],
            props[input_key], execution_description(self, action),
            timeout=props[self.TIMEOUT],
            retries=retry.get(self.RETRY_COUNT) or 0,
            delay=retry.get(self.RETRY_DELAY) or 0)

    def _cancel_previous(self, client, why):
        """Cancel the hook's last execution if it still runs.

        Heat stops a running action through ``handle_*_cancel``; but an
        action whose heat-engine died is run again without it, and the
        abandoned execution must not go on beside the new one.
        """
        previous = self.data().get(self.EXECUTION_ID)
        if previous:
            mistral_hook_run.cancel_execution(
                client, previous,
                'Hook %s of stack %s %s' % (self.name, self.stack.id, why))

    def _record(self, run):
        """Store the run's current execution id (a retry starts a new one)."""
        if run.execution_id != run.recorded:
            self.data_set(self.EXECUTION_ID, run.execution_id)
            run.recorded = run.execution_id

    def _start(self, run):
        self._cancel_previous(run.client, 'runs again')
        run.start()
        self._record(run)
        if self.resource_id is None:
            self.resource_id_set(run.execution_id)
        return run

    def _check(self, run, store_output=True):
        if run is None:
            return True
        try:
            done = run.poll()
        except mistral_hook_run.RetryDelay as delay:
            raise resource.PollDelay(max(1, math.ceil(delay.seconds)))
        except mistral_hook_run.MistralHookFailed as failed:
            raise exception.Error(str(failed))
        finally:
            self._record(run)
        if done and store_output:
            self.data_set(self.OUTPUT, jsonutils.dumps(run.output))
        return done

    @staticmethod
    def _cancel(run):
        if run is not None:
            run.cancel()

    def handle_create(self):
        return self._run(self.t, self.properties, self.WORKFLOW, self.INPUT,
                         self.CREATE)

    def check_create_complete(self, run):
        return self._check(run)

    def handle_create_cancel(self, run):
        self._cancel(run)

    def handle_update(self, json_snippet, tmpl_diff, prop_diff):
        if not set(prop_diff) & set(self.RERUN_ON_CHANGE):
            return None
        props = json_snippet.properties(self.properties_schema,
                                        self.context)
        return self._run(json_snippet, props, self.WORKFLOW, self.INPUT,
                         self.UPDATE)

    def check_update_complete(self, run):
        return self._check(run)

    def handle_update_cancel(self, run):
        self._cancel(run)

    def handle_delete(self):
        if not self.properties[self.DELETE_WORKFLOW]:
            # An execution of a create or update Heat stopped may still run.
            self._cancel_previous(self.client(), 'deleted')
            return None
        return self._run(self.t, self.properties, self.DELETE_WORKFLOW,
                         self.DELETE_INPUT, self.DELETE)

    def check_delete_complete(self, run):
        return self._check(run, store_output=False)

    def handle_delete_cancel(self, run):
        self._cancel(run)

    def _resolve_attribute(self, name):
        if name == self.OUTPUT:
            stored = self.data().get(self.OUTPUT)
            return jsonutils.loads(stored) if stored else None
        if name == self.EXECUTION_ID:
            return self.data().get(self.EXECUTION_ID)


def resource_mapping():
    """``{type name: Resource class}`` to register in Heat's environment."""
    return {RESOURCE_TYPE: MistralHook}
