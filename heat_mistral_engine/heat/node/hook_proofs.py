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

"""Heat enforces operator hooks; Mistral only orders them (heat-engine).

The workflow puts a node's before hooks ahead of its task and its after
hooks behind it (``graph.hook_tasks``), but Heat does not take Mistral's
order on trust: a workflow definition updated in the traversal's namespace,
an execution started again without the hook task, a hook task re-run or a
bug in the ordering would otherwise let a resource act without its before
hooks, or a stack complete without its after hooks.

What must have run is heat-engine's own record: the requirements it
stored when the traversal started (``store.hook_requirements``), and, for
after hooks, what the node's claim (``store.claims``) says Heat actually
did (a hook for create does not run after an update). Whether it ran is
Mistral's record, read by heat-engine itself through Mistral's API, never
taken from what a task sends. A hook is *proven* for a node of a traversal
when, in an execution of the service project's workflow
``heat_stack_<stack id>`` in the namespace of exactly that traversal, the
task of exactly that hook of that node (its compiler-made name) ended
SUCCESS, and under that task a sub-workflow execution of the hook's
workflow ended SUCCESS. So:

* a proof of an earlier traversal (another namespace), of another node
  (another task name) or another stack (another workflow name) is not one;
* a hook task removed, or replaced by a task that runs another workflow
  or nothing, proves nothing;
* a task still RUNNING, failed or forced to ERROR proves nothing.

``check_before`` refuses a node (``Unproven``) before it touches its
resource; ``after_problem`` says why a stack may not complete. Both give
one sentence for the tenant (no Mistral ids) and the details for the log.
"""

from heat.objects import resource as resource_objects
from oslo_log import log as logging
import tenacity

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.store import claims
from heat_mistral_engine.heat.store import hook_requirements
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

SUCCESS = 'SUCCESS'
# Mistral's API asked this many times, a second apart, before a proof
# counts as missing: a node is not failed for one dropped connection.
ATTEMPTS = 3
RETRY_WAIT = 1.0


class Unproven(Exception):
    """A required hook has no proof; ``str`` is the tenant's sentence.

    ``details`` says what Mistral showed, for the log.
    """

    def __init__(self, sentence, details):
        super().__init__(sentence)
        self.details = details


def check_before(cnxt, grant, request, resource_name, service):
    """Refuse the node unless each of its before hooks is proven.

    :param grant: the request's opened traversal token; nothing is read
        unless it says the traversal has hook requirements.
    :param resource_name: for the sentence (the request has only the id).
    :param service: a ``mistral_api.MistralService``.
    :raises Unproven: a before hook of the node has no proof, or the
        requirements are gone (the traversal ended meanwhile).
    """
    if not grant.hooks:
        return
    key = protocol.data_key(request.resource_id, request.is_update)
    try:
        required = hook_requirements.REQUIREMENTS.of(cnxt, request.traversal)
    except hook_requirements.Missing:
        raise Unproven(
            'Refused by Heat: the operator hook records of this traversal '
            'of the stack are gone, so resource %s was not touched'
            % resource_name, 'no hook requirements stored for traversal %s'
            % request.traversal)
    for item in required.get(key, ()):
        if item['when'] != 'before':
            continue
        problem = proof_problem(service, request.stack_id,
                                request.traversal, item)
        if problem:
            raise Unproven(
                'Refused by Heat: operator hook %s before %s of resource %s '
                'has not succeeded in this traversal of the stack, so the '
                'resource was not touched'
                % (item['hook'], _actions(item), resource_name), problem)


def after_problem(stack, traversal, service_factory):
    """Why the traversal may not complete: ``Unproven``, or None.

    Every node of the traversal with after hooks: the hooks whose actions
    include what Heat did in the node (its claim's output) must be proven.
    No stored requirements: nothing to check (a traversal without hooks).

    :param service_factory: callable() -> ``mistral_api.MistralService``,
        called only when there is an after hook to prove.
    """
    cnxt = stack.context
    try:
        required = hook_requirements.REQUIREMENTS.of(cnxt, traversal)
    except hook_requirements.Missing:
        return None
    service = None
    for key, items in sorted(required.items()):
        after = [i for i in items if i['when'] == 'after']
        if not after:
            continue
        resource_id, is_update = protocol.read_data_key(key)
        done = claims.get_node(cnxt, resource_id, traversal, is_update)
        if done is None or done.state != claims.SUCCESS:
            return Unproven(
                'Operator hooks after resource %s cannot be proven: Heat '
                'has no record that the resource ran in this traversal, so '
                'the stack is not complete'
                % _name(cnxt, resource_id),
                'no successful claim of node %s' % key)
        action = ((done.output or {}).get('hook') or {}).get('action')
        for item in after:
            if action not in item['actions']:
                continue
            service = service or service_factory()
            problem = proof_problem(service, stack.id, traversal, item)
            if problem:
                return Unproven(
                    'Operator hook %s after %s of resource %s has not run '
                    'successfully in this traversal of the stack, so the '
                    'stack is not complete'
                    % (item['hook'], action, _name(cnxt, resource_id)),
                    problem)
    return None


def proof_problem(service, stack_id, traversal, item):
    """Why hook requirement ``item`` is not proven in Mistral, or None.

    See the module's docstring for what proves a hook. Mistral's API is
    asked up to ATTEMPTS times when it fails to answer.
    """
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(ATTEMPTS),
        wait=tenacity.wait_fixed(RETRY_WAIT),
        retry=tenacity.retry_if_exception_type(
            mistral_api.MistralUnavailable),
        reraise=True)
    try:
        return retrying(_proof_problem, service, stack_id, traversal, item)
    except mistral_api.MistralUnavailable as exc:
        return 'could not be verified: %s' % exc


def _proof_problem(service, stack_id, traversal, item):
    name = workflow.workflow_name(stack_id)
    tasks = [t for t in service.tasks_named(name, item['task'])
             if (t.workflow_namespace or '') == traversal]
    if not tasks:
        return ('Mistral has no task %s in an execution of %s for '
                'traversal %s' % (item['task'], name, traversal))
    seen = []
    for task in tasks:
        seen.append('task execution %s %s' % (task.id, task.state))
        if task.state != SUCCESS:
            continue
        runs = service.sub_executions(task.id)
        for run in runs:
            if run.workflow_name == item['workflow'] and (
                    run.state == SUCCESS):
                return None
        seen[-1] += ' running %s' % (', '.join(
            '%s %s' % (r.workflow_name, r.state) for r in runs) or
            'no workflow')
    return ('no successful run of workflow %s under task %s of traversal '
            '%s (%s)' % (item['workflow'], item['task'], traversal,
                         '; '.join(seen)))


def _actions(item):
    return '/'.join(item['actions'])


def resource_name(cnxt, resource_id):
    """The name of a resource row, or None if it cannot be read.

    For a sentence to the tenant (hook refusals here, hook failures in
    ``hook_reports``); the reason then names the resource by its id.
    """
    try:
        return resource_objects.Resource.get_obj(
            cnxt, resource_id, fields=('name',)).name
    except Exception as exc:
        LOG.warning('Could not read the name of resource %s: %s',
                    resource_id, exc)
        return None


def _name(cnxt, resource_id):
    """The resource's name for a sentence; its id if it cannot be read."""
    return resource_name(cnxt, resource_id) or str(resource_id)
