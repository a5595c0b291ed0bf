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

"""heat-engine's client of the Mistral v2 API, as the service account.

All calls go through ``MistralService``; errors come out as
``MistralUnavailable``. Its message is what the user may see in the stack's
status reason or a validation error: the call that failed and a request
id, never the URL or the client's error (those can name internal hosts);
the whole text is logged under that request id (``unavailable``).
"""

import datetime
import json
import threading
import time
from urllib import parse

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from mistralclient.api import client as mistral_client
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log as logging
from oslo_utils import timeutils
import tenacity

from heat_mistral_engine import config
from heat_mistral_engine.graph import node_action
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import direct_completion
from heat_mistral_engine.heat.clients import keystone_session
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

# The Mistral action that carries one resource node (setup.cfg).
NODE_ACTION = 'heat.run_node'

# Seconds between two attempts to report a node to a Mistral that cannot
# be reached.
REPORT_RETRY_SECONDS = 2.0

# The states in which a Mistral execution has ended for good.
ENDED_STATES = frozenset(('SUCCESS', 'ERROR', 'CANCELLED'))

# Stacks' workflows are named heat_stack_<stack id> (graph.workflow);
# Mistral's filter for them (a LIKE: '_' matches any character, so the
# names found are checked against the prefix).
_STACK_WORKFLOWS = 'has:' + workflow.WORKFLOW_PREFIX

# Seconds after which a stack's definition that no execution was started
# from is taken as left by a start that died (a start takes seconds).
UNSTARTED_DEFINITION_AGE = 3600


class MistralUnavailable(Exception):
    """A Mistral API call failed.

    The message (``str``) is one sentence a tenant may read: which call
    failed, and for a failed call the request id its details were logged
    under. ``detail`` is the whole text, for the log and for checks of
    Mistral's answer (``already_completed``): the URL and the client's
    error, which can hold internal URLs and addresses.
    """

    def __init__(self, message, detail=None, request_id=None):
        super().__init__(message)
        self.detail = message if detail is None else detail
        self.request_id = request_id


def unavailable(what, url, exc):
    """The MistralUnavailable of a call that failed, its details logged.

    ``what`` says what the call was to do ("complete action execution
    <id>"); ``url`` is Mistral's, ``exc`` the client's error. Logs
    ``Mistral at <url> failed to <what>: <exc>`` at WARNING with a new
    request id, and returns (does not raise) the exception whose message
    names only ``what`` and that request id.
    """
    request_id = oslo_context.generate_request_id()
    where = ' at %s' % url if url else ''
    detail = 'Mistral%s failed to %s: %s' % (where, what, exc)
    LOG.warning('[%s] %s', request_id, detail)
    return MistralUnavailable(
        'Mistral failed to %s (details in Heat\'s log, request %s)'
        % (what, request_id), detail=detail, request_id=request_id)


def misconfigured(problems):
    """The MistralUnavailable of a bad ``[mistral_scheduler]``, logged.

    ``problems`` as ``config_problems`` gives them. The message names the
    bad options (each problem's summary); their values and errors (a URL,
    keystoneauth's text) are logged at ERROR under the request id the
    message gives.
    """
    request_id = oslo_context.generate_request_id()
    detail = 'heat-mistral-engine is misconfigured: ' + '; '.join(problems)
    LOG.error('[%s] %s', request_id, detail)
    named = '; '.join(problem.split(': ', 1)[0] for problem in problems)
    return MistralUnavailable(
        'heat-mistral-engine is misconfigured: %s (details in Heat\'s log, '
        'request %s)' % (named, request_id),
        detail=detail, request_id=request_id)


def details(exc):
    """The whole text of ``exc``: a MistralUnavailable's detail, or str."""
    return getattr(exc, 'detail', None) or str(exc)


class NotTheNodesAction(MistralUnavailable):
    """The action execution is not the node's own, as Mistral shows it.

    Nothing completed it, and nothing may for this node: a request that
    names another action execution than its own was forged or garbled.
    """


def url_option(conf=cfg.CONF):
    """(name, value) of the option that gives Mistral's URL, or (None, None).

    ``endpoint_override`` wins over its deprecated predecessor
    ``mistral_url``; with neither, Mistral is looked up in the catalog.
    """
    group = conf[config.GROUP]
    for name in ('endpoint_override', 'mistral_url'):
        value = getattr(group, name)
        if value:
            return name, value
    return None, None


def config_problems(conf=cfg.CONF):
    """Return a list of human-readable problems with ``[mistral_scheduler]``.

    An empty list means heat-engine can build a client; it does not promise
    that Mistral answers. Each problem is ``SUMMARY`` or ``SUMMARY: DETAIL``,
    where only DETAIL holds a value or an error text (``misconfigured``
    tells users the summaries alone).
    """
    group = conf[config.GROUP]
    problems = []
    for name in ('endpoint_override', 'mistral_url', 'valid_interfaces',
                 'region_name', 'timeout', 'connect_retries',
                 'status_code_retries', 'rpc_topic'):
        try:
            getattr(group, name)
        except ValueError as exc:
            # oslo.config raises only when an invalid value is read.
            problems.append('[%s] %s has an invalid value: %s'
                            % (config.GROUP, name, exc))
    if problems:
        return problems
    name, url = url_option(conf)
    url_problem = url and config.check_url(url)
    if url_problem:
        problems.append('[%s] %s has an invalid value: %s'
                        % (config.GROUP, name, url_problem))
    if not url and not group.auth_type:
        problems.append(
            '[%s] endpoint_override is unset and no auth_type is '
            'configured, so Mistral cannot be found: set endpoint_override, '
            'or auth_type and its credentials to look Mistral up in the '
            'Keystone catalog' % config.GROUP)
    try:
        # keystoneauth checks valid_interfaces and the version options
        # only when it builds an Adapter (no request is made here).
        ks_loading.load_adapter_from_conf_options(conf, config.GROUP,
                                                  session=None)
    except TypeError as exc:
        problems.append('[%s] valid_interfaces or a version option has an '
                        'invalid value: %s' % (config.GROUP, exc))
    if group.auth_type:
        try:
            ks_loading.load_auth_from_conf_options(conf, config.GROUP)
        except Exception as exc:
            problems.append('[%s] auth_type = %s cannot be loaded: %s'
                            % (config.GROUP, group.auth_type, exc))
    if not conf.auth_encryption_key or len(conf.auth_encryption_key) < 16:
        problems.append('[DEFAULT] auth_encryption_key is needed to seal '
                        'the traversal tokens handed to Mistral')
    return problems


def already_completed(exc):
    """True if ``exc`` says the action execution was completed before.

    Mistral 23 refuses to complete an action execution twice with
    ``Action <id> is already completed``.
    """
    return 'is already completed' in details(exc)


class MistralService:
    """Mistral operations heat-engine needs, with errors made readable."""

    def __init__(self, conf=cfg.CONF):
        problems = config_problems(conf)
        if problems:
            raise misconfigured(problems)
        group = conf[config.GROUP]
        self._skip_validation = group.skip_workflow_validation
        # One session, auth plugin and token per process (not per call).
        adapter = keystone_session.adapter(conf)
        self._url = url_option(conf)[1]
        # Without Keystone, Mistral keeps everything in one project.
        self._project_id = None
        if group.auth_type:
            try:
                # The service's own project, to tell its workflows from
                # others'.
                self._project_id = adapter.get_project_id()
                if not self._url:
                    self._url = adapter.get_endpoint()
            except ks_exceptions.EndpointNotFound as exc:
                raise unavailable(
                    'find its endpoint (service type %s, region %s, '
                    'interface %s) in the Keystone catalog' % (
                        adapter.service_type, adapter.region_name or 'any',
                        ' or '.join(_interfaces(adapter.interface))),
                    None, exc)
            except ks_exceptions.ClientException as exc:
                raise unavailable(
                    'be reached: Keystone did not authenticate '
                    'heat-mistral-engine\'s account ([%s] auth options)'
                    % config.GROUP, None, exc)
            if not self._url:
                raise unavailable(
                    'find its endpoint (service type %s) in the Keystone '
                    'catalog' % adapter.service_type, None,
                    'no endpoint in the catalog')
        # The Adapter as the client's session: its timeout, retries and
        # auth apply to every call. The TLS options go to the client too,
        # which would otherwise send verify=True and no client certificate
        # with each https request, over the session's.
        self._client = mistral_client.client(
            auth_type='', mistral_url=self._url, session=adapter,
            cacert=group.cafile, insecure=group.insecure,
            cert=group.certfile, key=group.keyfile)
        # Created on first use: only heat-engine has Heat's RPC transport.
        self._direct = None
        self._direct_lock = threading.Lock()

    @property
    def url(self):
        return self._url

    def _call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            raise unavailable(what, self._url, exc)

    def create_workflow(self, name, definition_yaml, namespace):
        """Create the workflow ``name`` in ``namespace``; return its id.

        Each traversal gets a definition of its own, in a namespace named
        after the traversal, never an update of an earlier one. Mistral
        23's engine caches a parsed definition by (id, ``updated_at``),
        and ``updated_at`` counts whole seconds: a definition updated twice
        within a second started its next execution with the previous
        text, so a rollback or delete ran the graph of the traversal before
        it. A new definition has a new id, so no cached text can stand in
        for it, and no other traversal's start can change it between its
        upload and its execution. If the service already has ``name`` in
        ``namespace`` (a start retried after its upload), that one is
        replaced, by id.
        """
        try:
            created = self._upload(definition_yaml, namespace=namespace)
        except Exception as exc:
            if getattr(exc, 'error_code', None) != 409:
                raise unavailable('create workflow %s' % name, self._url,
                                  exc)
            (own,) = [w for w in self._own_workflows(name)
                      if (w.namespace or '') == namespace]
            self._call('update workflow %s' % name, self._upload,
                       definition_yaml, namespace=namespace,
                       workflow_id=own.id)
            return own.id
        return [w for w in created if w.name == name][0].id

    def delete_workflows(self, name, keep_namespace, now=None):
        """Delete the service's finished definitions of ``name``.

        For a traversal's start, once its own execution runs: the
        definitions of the stack's earlier traversals are no longer needed
        (an execution keeps its own copy of the definition it started
        with). A definition is deleted only when every execution of it has
        ended, or, if none was ever started, when it is older than
        ``UNSTARTED_DEFINITION_AGE`` (its start died). So a definition a
        newer traversal has just uploaded, whose execution is still to be
        started, is never taken from under it, whatever order concurrent
        starts run in. ``keep_namespace``'s (the caller's own) is always
        kept. Returns the ids deleted; a definition Mistral refuses to
        delete is logged and left, so that the cleanup never fails a
        traversal.
        """
        now = time.time() if now is None else now
        candidates = [w for w in self._own_workflows(name)
                      if (w.namespace or '') != keep_namespace]
        if not candidates:
            return []
        started = {}
        for execution in self._own(self._call(
                'list executions of %s' % name, self._client.executions.list,
                workflow_name=name, limit=-1,
                fields=['workflow_id', 'state', 'project_id'])):
            started.setdefault(execution.workflow_id, []).append(
                execution.state)
        deleted = []
        for found in candidates:
            states = started.get(found.id)
            if states is None:
                created = _timestamp(getattr(found, 'created_at', None))
                if created is None or \
                        now - created < UNSTARTED_DEFINITION_AGE:
                    continue
            elif not all(state in ENDED_STATES for state in states):
                continue
            try:
                self._client.workflows.delete(found.id)
            except Exception as exc:
                LOG.warning('Could not delete workflow %s (%s, namespace '
                            '%r) of an earlier traversal: %s', name,
                            found.id, found.namespace or '', exc)
                continue
            deleted.append(found.id)
        return deleted

    def _own_workflows(self, name):
        """The service project's workflows called ``name``, any namespace."""
        found = self._call('look up workflow %s' % name,
                           self._client.workflows.list, name=name)
        return [w for w in self._own(found) if w.name == name]

    def workflow_id(self, name, namespace):
        """Id of the service's workflow ``name`` in ``namespace``, or None.

        For a traversal driven again (``recovery.redrive``): its own
        definition, in the namespace named after it.
        """
        own = [w for w in self._own_workflows(name)
               if (w.namespace or '') == namespace]
        return own[0].id if own else None

    def _own_workflow(self, name):
        """The service project's workflow ``name`` of the default namespace.

        None if there is none. Operator hook workflows, which Mistral
        runs as sub-workflows, are looked up there.
        """
        own = [w for w in self._own_workflows(name)
               if not getattr(w, 'namespace', '')]
        return own[0] if own else None

    def _own(self, found):
        """The objects in ``found`` that belong to the service's project.

        Mistral lists an admin every project's workflows and executions;
        the service account has that role in many clouds. Without
        Keystone, Mistral keeps everything in one project: all are own.
        """
        if self._project_id is None:
            return list(found)
        return [item for item in found
                if getattr(item, 'project_id', None) == self._project_id]

    def _upload(self, definition_yaml, namespace='', workflow_id=None):
        """Create in ``namespace``, or update by id; skip Mistral's check.

        mistralclient's create()/update() cannot ask for skip_validation, so
        this is its request with that query parameter added; the only place
        that uses the client's internals.
        """
        workflows = self._client.workflows
        if not self._skip_validation:
            if workflow_id:
                return workflows.update(definition_yaml, namespace=namespace,
                                        id=workflow_id)
            return workflows.create(definition_yaml, namespace=namespace)
        query = '?' + parse.urlencode({'scope': 'private',
                                       'namespace': namespace,
                                       'skip_validation': ''})
        if workflow_id:
            return workflows._update(
                '/workflows/%s%s' % (workflow_id, query), definition_yaml,
                response_key=None, dump_json=False,
                headers={'content-type': 'text/plain'}, is_iter_resp=False)
        return workflows._create(
            '/workflows' + query, definition_yaml, response_key='workflows',
            dump_json=False, headers={'content-type': 'text/plain'},
            is_iter_resp=True)

    def workflow_input(self, name):
        """The declared input of the service's workflow ``name``, or None.

        None when the service project has no workflow of that name; a
        list as Mistral's ``interface`` gives it otherwise: names, and
        {name: default} for the optional ones. Only the service's own
        workflow counts, as Mistral runs it for an operator hook: Mistral
        resolves a sub-workflow's name among the execution's project's
        workflows and public ones (``load_workflow_definition``), whereas
        a GET by name would answer an admin with any project's.
        """
        own = self._own_workflow(name)
        if own is None:
            return None
        found = self._call('look up workflow %s' % name,
                           self._client.workflows.get, own.id)
        interface = getattr(found, 'interface', None) or {}
        if isinstance(interface, str):
            interface = json.loads(interface)
        return list(interface.get('input') or [])

    def start_execution(self, workflow, workflow_input, description,
                        params=None):
        """Start an execution; ``params`` are Mistral's execution params.

        Mistral 23 keeps params it does not know with the execution and
        shows them in ``GET /v2/executions/<id>``; ``root_execution_id``
        among them becomes the execution's root (see ``nested_link``).
        """
        return self._call('start an execution of %s' % workflow,
                          self._client.executions.create, workflow,
                          workflow_input=workflow_input,
                          description=description, **(params or {}))

    def task_of_action(self, action_execution_id):
        """Where an action execution runs: its task and workflow execution.

        Returns a dict with ``task`` (the task's name),
        ``task_execution_id``, ``execution_id``, ``root_execution_id``
        (the top of the execution's tree: its root, or itself) and
        ``action_state`` (the action execution's state: RUNNING until
        heat-engine completed it, whatever its workflow execution's).
        """
        action = self._call('look up action execution %s'
                            % action_execution_id,
                            self._client.action_executions.get,
                            action_execution_id)
        task = self._call('look up task execution %s'
                          % action.task_execution_id,
                          self._client.tasks.get, action.task_execution_id)
        execution = self._call('look up execution %s'
                               % task.workflow_execution_id,
                               self._client.executions.get,
                               task.workflow_execution_id)
        return {'task': task.name, 'task_execution_id': task.id,
                'execution_id': execution.id,
                'root_execution_id': (getattr(execution, 'root_execution_id',
                                              None) or execution.id),
                'action_state': action.state}

    def running_executions(self, workflow):
        """The service's executions of ``workflow`` that run or are paused."""
        executions = self._call(
            'list executions of %s' % workflow, self._client.executions.list,
            workflow_name=workflow, limit=-1)
        return [e for e in self._own(executions)
                if e.state in ('RUNNING', 'PAUSED')]

    def stop_execution(self, execution_id, state='CANCELLED', reason=None):
        """End a running execution in ``state`` (CANCELLED or ERROR).

        ``reason`` becomes the execution's state_info, which
        ``openstack workflow execution show`` prints. Tasks still running
        stay so until heat-engine reports them; Mistral then starts no
        successor of a task of an ended execution.
        """
        if state not in ('CANCELLED', 'ERROR'):
            raise ValueError('an execution is stopped as CANCELLED or '
                             'ERROR, not %s' % state)
        body = {'state': state}
        if reason:
            body['state_info'] = reason
        # mistralclient's update() cannot send state_info; the API takes it
        # and hands it to the engine as the reason for stopping.
        return self._call('%s execution %s' % (
            'cancel' if state == 'CANCELLED' else 'fail', execution_id),
            self._client.executions._update,
            '/executions/%s' % execution_id, body)

    def complete_action(self, action_execution_id, output=None, error=None,
                        retry_for=None, completion_topic=None, node=None,
                        check_success=False):
        """Finish a node's asynchronous action.

        SUCCESS with ``output`` (a JSON object, or None for an empty one),
        or ERROR with the message ``error``, sent as ``{"reason": error}``.
        ``node`` (anything with the ``protocol.COMPLETION_NODE``
        attributes, such as the NodeRequest) is the node whose action
        execution this is; with it, only that node's own action execution
        is completed: by a Mistral engine, which checks in its database,
        when ``completion_topic`` (from the node request) is the one
        Mistral's engines serve (``direct_completion``); through the API
        otherwise or when that call did not complete it, where an ERROR
        goes only after the action execution was checked through the API
        (``node_action_problem``), and so does a SUCCESS with
        ``check_success`` (an answer given without running the node, which
        no receipt check of a dependent would catch at a foreign action
        execution). Either check failing raises ``NotTheNodesAction``, and
        nothing is completed.
        While Mistral cannot be reached or answers 5xx (a Mistral restart),
        the report is retried for ``retry_for`` seconds (default
        ``[mistral_scheduler] report_retry_timeout``); a refusal (4xx) is
        not retried. When an earlier attempt of this call failed in a way
        that may have hidden its success, "already completed" means that
        attempt landed: returns None. Otherwise "already completed" raises
        MistralUnavailable (``already_completed`` tells it apart): someone
        else than this node completed the action.
        """
        # The API takes output as the JSON text of an object, never a bare
        # string ("JsonType field value must be a dictionary"); it becomes
        # the task's result, or the task's state_info on ERROR.
        if error is not None:
            state, value = 'ERROR', {'reason': error}
        else:
            state, value = 'SUCCESS', output
        identity = None
        if node is not None:
            identity = {name: getattr(node, name)
                        for name in protocol.COMPLETION_NODE}
        may_have_landed = False
        if completion_topic and identity is not None:
            try:
                if self._complete_directly(completion_topic,
                                           action_execution_id, state,
                                           value, identity):
                    return None
            except direct_completion.Unanswered:
                # It may have landed: "already completed" from the API
                # then means it did.
                may_have_landed = True
        # An error reaches the API only for the node's own action
        # execution: a refused request may name any (a success carries a
        # receipt sealed for the node, which no other node opens).
        unchecked = identity is not None and (error is not None or
                                              check_success)
        if retry_for is None:
            retry_for = cfg.CONF[config.GROUP].report_retry_timeout
        try:
            for attempt in self._report_retrying(action_execution_id,
                                                 retry_for):
                with attempt:
                    if unchecked:
                        self._check_node_action(action_execution_id,
                                                identity)
                        unchecked = False
                    try:
                        return self._client.action_executions.update(
                            action_execution_id, state=state,
                            output=json.dumps(value))
                    except Exception as exc:
                        if already_completed(exc) and (
                                may_have_landed or
                                attempt.retry_state.attempt_number > 1):
                            # An earlier attempt (its answer lost while
                            # Mistral restarted) did land; Mistral keeps
                            # that result.
                            LOG.info('Action execution %s was completed by '
                                     'an earlier attempt of this report',
                                     action_execution_id)
                            return None
                        raise
        except NotTheNodesAction:
            raise
        except Exception as exc:
            raise unavailable(
                'complete action execution %s' % action_execution_id,
                self._url, exc)

    def _report_retrying(self, action_execution_id, retry_for):
        """The attempts of one report (tenacity).

        Again every REPORT_RETRY_SECONDS while Mistral cannot be reached or
        answers 5xx, for ``retry_for`` seconds; the last error is raised.
        """
        def warn(retry_state):
            LOG.warning('Mistral at %s cannot take the result of action '
                        'execution %s yet (%s); retrying', self._url,
                        action_execution_id,
                        retry_state.outcome.exception())

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: _transient(exc) and not already_completed(exc)),
            stop=tenacity.stop_after_delay(retry_for),
            wait=tenacity.wait_fixed(REPORT_RETRY_SECONDS),
            sleep=time.sleep, before_sleep=warn, reraise=True)

    def node_action_problem(self, action_execution_id, node):
        """Why the action execution is not ``node``'s own, or None.

        ``node`` maps ``protocol.COMPLETION_NODE`` to the node's values.
        As Mistral's API shows the action execution to the service
        (``graph.node_action``), and of the service's project when it has
        one. Raises what the client raises (not found: a 404).
        """
        action = self._client.action_executions.get(action_execution_id)
        if (self._project_id is not None and
                getattr(action, 'project_id', None) != self._project_id):
            return 'it belongs to another project than the service\'s'
        return node_action.problem(
            node, getattr(action, 'name', None),
            getattr(action, 'task_execution_id', None),
            getattr(action, 'workflow_name', None),
            getattr(action, 'workflow_namespace', None),
            _json(getattr(action, 'input', None)))

    def _check_node_action(self, action_execution_id, node):
        problem = self.node_action_problem(action_execution_id, node)
        if problem:
            raise NotTheNodesAction(
                'action execution %s is not the one of resource %s (%s) of '
                'stack %s traversal %s: %s' % (
                    action_execution_id, node['resource_id'],
                    protocol.node_kind(node['is_update']), node['stack_id'],
                    node['traversal'], problem))

    def _complete_directly(self, topic, action_execution_id, state, value,
                           node):
        """True if a Mistral engine on ``topic`` completed the action.

        False when the API is to be used: the topic is not worth a call
        now, or an engine refused for another reason than an earlier
        completion or a foreign action execution. Raises ``Unanswered``,
        MistralUnavailable for an action execution completed before (as
        the API path does) or NotTheNodesAction.
        """
        direct = self._direct_completions()
        if not direct.usable(topic):
            return False
        try:
            direct.complete(topic, action_execution_id, state, value, node)
            return True
        except direct_completion.Foreign as exc:
            raise NotTheNodesAction(
                'Mistral\'s engine refused to complete action execution '
                '%s: %s' % (action_execution_id, exc))
        except direct_completion.Refused as exc:
            if already_completed(exc):
                raise MistralUnavailable(
                    'Mistral\'s engine failed to complete action execution '
                    '%s' % action_execution_id,
                    detail='Mistral\'s engine failed to complete action '
                           'execution %s: %s' % (action_execution_id, exc))
            LOG.warning('A Mistral engine refused the result of action '
                        'execution %s (%s); sending it through Mistral\'s '
                        'API', action_execution_id, exc)
            return False

    def _direct_completions(self):
        with self._direct_lock:
            if self._direct is None:
                group = cfg.CONF[config.GROUP]
                self._direct = direct_completion.DirectCompletions(
                    group.direct_completion_timeout,
                    protocol.completion_topic(group.rpc_topic))
            return self._direct

    def action_result(self, action_execution_id):
        """(state, result) of an action execution.

        ``result`` is what it was completed with (for heat.run_node: the
        node's output, or ``{"reason": ...}`` on ERROR), None while it runs.
        """
        action = self._call('look up action execution %s'
                            % action_execution_id,
                            self._client.action_executions.get,
                            action_execution_id)
        output = action.output
        if isinstance(output, str):
            output = json.loads(output or 'null')
        if isinstance(output, dict) and 'result' in output:
            output = output['result']
        return action.state, output

    def running_node_actions(self):
        """RUNNING ``heat.run_node`` action executions, with their input.

        Each has ``id``, ``input`` (a dict: the node request's fields),
        ``created_at`` and ``updated_at``.
        """
        found = self._call(
            'list running %s action executions' % NODE_ACTION,
            self._client.action_executions.list, limit=-1,
            name=NODE_ACTION, state='RUNNING')
        for action in found:
            action.input = _json(getattr(action, 'input', None))
        return found

    def stack_executions(self, states=('RUNNING', 'PAUSED')):
        """The service's executions in ``states`` of stacks' workflows.

        That is, of workflows called heat_stack_*.

        Each has ``input`` parsed into a dict.
        """
        found = []
        for state in states:
            found.extend(self._call(
                'list %s executions' % state, self._client.executions.list,
                limit=-1, state=state))
        result = []
        for execution in self._own(found):
            if not (execution.workflow_name or '').startswith(
                    workflow.WORKFLOW_PREFIX):
                continue
            execution.input = _json(getattr(execution, 'input', None))
            result.append(execution)
        return result

    def failed_stack_executions(self, since):
        """The service's executions of stacks' workflows that ended ERROR.

        Those updated at or after ``since`` (a naive UTC datetime, Mistral's
        clock), by Mistral's index on ``updated_at``. Each has ``id``,
        ``workflow_name``, ``workflow_namespace`` (the traversal),
        ``state_info`` and ``updated_at``; not the input (which holds the
        sealed token).
        """
        found = self._call(
            'list failed executions', self._client.executions.list,
            limit=-1, state='ERROR', workflow_name=_STACK_WORKFLOWS,
            updated_at='gte:%s' % _mistral_time(since),
            fields=['workflow_name', 'workflow_namespace', 'state',
                    'state_info', 'updated_at', 'project_id'])
        return [e for e in self._own(found) if (e.workflow_name or '')
                .startswith(workflow.WORKFLOW_PREFIX)]

    def failed_stack_tasks(self, since):
        """The service's tasks of stacks' workflows that ended ERROR.

        Those updated at or after ``since``, as ``failed_stack_executions``.
        A task fails its execution only once no other task of it runs, so
        a stack with a long resource running learns of the failure from
        its task. Each has ``id``, ``name``, ``workflow_name``,
        ``workflow_namespace``, ``workflow_execution_id``, ``state_info``
        and ``updated_at``.
        """
        found = self._call(
            'list failed tasks', self._client.tasks.list,
            limit=-1, state='ERROR', workflow_name=_STACK_WORKFLOWS,
            updated_at='gte:%s' % _mistral_time(since),
            fields=['name', 'workflow_name', 'workflow_namespace',
                    'workflow_execution_id', 'state', 'state_info',
                    'updated_at', 'project_id'])
        return [t for t in self._own(found)
                if (t.workflow_name or '')
                .startswith(workflow.WORKFLOW_PREFIX)]

    def execution_tasks(self, execution_id, state=None, name_has=None):
        """Tasks of one execution: ``name``, ``state`` and ``state_info``.

        ``state`` keeps one state; ``name_has`` the names holding that
        text (Mistral's ``has:`` filter, an SQL LIKE in which ``_`` matches
        any character: check the names found).
        """
        filters = {}
        if state:
            filters['state'] = state
        if name_has:
            filters['name'] = 'has:%s' % name_has
        return self._call(
            'list the tasks of execution %s' % execution_id,
            self._client.tasks.list, workflow_execution_id=execution_id,
            limit=-1, fields=['name', 'state', 'state_info'], **filters)

    def tasks_named(self, workflow_name, task_name):
        """The service's tasks called ``task_name`` in ``workflow_name``.

        In every execution of that workflow, any namespace. Each has
        ``id``, ``name``, ``state``, ``workflow_name``,
        ``workflow_namespace`` and ``workflow_execution_id``. For operator
        hook proofs (``heat.node.hook_proofs``).
        """
        found = self._call(
            'list the tasks %s of %s' % (task_name, workflow_name),
            self._client.tasks.list, limit=-1, name=task_name,
            workflow_name=workflow_name,
            fields=['name', 'state', 'workflow_name', 'workflow_namespace',
                    'workflow_execution_id', 'project_id'])
        return [t for t in self._own(found) if t.name == task_name and
                t.workflow_name == workflow_name]

    def sub_executions(self, task_execution_id):
        """The service's workflow executions a task runs (sub-workflows).

        Each has ``id``, ``workflow_name``, ``state`` and
        ``task_execution_id``.
        """
        found = self._call(
            'list the executions of task %s' % task_execution_id,
            self._client.executions.list, limit=-1,
            task_execution_id=task_execution_id,
            fields=['workflow_name', 'state', 'task_execution_id',
                    'project_id'])
        return [e for e in self._own(found)
                if e.task_execution_id == task_execution_id]

    def last_task_change(self, execution_id):
        """When a task of the execution last changed (text), or None."""
        tasks = self._call('list the tasks of execution %s' % execution_id,
                           self._client.tasks.list,
                           workflow_execution_id=execution_id, limit=-1,
                           fields=['updated_at', 'created_at'])
        stamps = [t.updated_at or t.created_at for t in tasks]
        stamps = [s for s in stamps if s]
        return max(stamps) if stamps else None

    def executions_of(self, workflow):
        """The service's executions of ``workflow``, with ``input`` parsed."""
        try:
            found = self._client.executions.list(workflow_name=workflow,
                                                 limit=-1)
        except Exception as exc:
            if getattr(exc, 'error_code', None) == 404:
                return []
            raise unavailable('list executions of %s' % workflow,
                              self._url, exc)
        found = self._own(found)
        for execution in found:
            execution.input = _json(getattr(execution, 'input', None))
        return found

    # -- read-only, for heat-api's workflow view (heat.api) ---------------
    def own_definition(self, workflow_id):
        """The definition text of the service's workflow ``workflow_id``.

        None when Mistral no longer has it, or it is not the service
        project's own (an admin's GET by id answers any project's).
        """
        try:
            found = self._client.workflows.get(workflow_id)
        except Exception as exc:
            if getattr(exc, 'error_code', None) == 404:
                return None
            raise unavailable('look up workflow %s' % workflow_id,
                              self._url, exc)
        own = self._own([found])
        return own[0].definition if own else None

    def tasks_of(self, execution_id):
        """The service's tasks of the execution ``execution_id``."""
        return self._own(self._call(
            'list the tasks of execution %s' % execution_id,
            self._client.tasks.list, workflow_execution_id=execution_id,
            limit=-1))

    def executions_in_tree(self, root_execution_id):
        """The service's executions whose root is ``root_execution_id``.

        Each has ``input`` parsed into a dict. Nested stacks' executions
        carry the top execution of their tree as Mistral's
        ``root_execution_id`` (see ``heat.traversal.nested_link``).
        """
        found = self._own(self._call(
            'list the executions under %s' % root_execution_id,
            self._client.executions.list,
            root_execution_id=root_execution_id, limit=-1))
        for execution in found:
            execution.input = _json(getattr(execution, 'input', None))
        return found


def _interfaces(value):
    """keystoneauth's interface setting (a name or a list) as a list."""
    if isinstance(value, str):
        return [value]
    return list(value or ['public'])


def _json(value):
    """A JSON object given as text or already parsed -> dict ({} if not)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _timestamp(text):
    """Seconds since the epoch of a Mistral time (UTC, no zone), or None.

    None for a missing or unreadable time.
    """
    try:
        return timeutils.normalize_time(
            timeutils.parse_isotime(text)).replace(
                tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def _mistral_time(when):
    """A naive UTC datetime as Mistral stores and compares times."""
    return timeutils.normalize_time(when).strftime('%Y-%m-%d %H:%M:%S')


def _transient(exc):
    """True for errors a Mistral restart causes: no answer, or a 5xx."""
    code = getattr(exc, 'error_code', None)
    if code is not None:
        return code >= 500
    # requests' ConnectionError and Timeout are OSErrors; keystoneauth's
    # when a session is used. Without a response nothing else is raised.
    return isinstance(exc, (ks_exceptions.ConnectionError, OSError))
