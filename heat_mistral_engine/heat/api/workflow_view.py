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

"""heat-api's read-only view of a stack's workflow: a paste filter.

The executions that order a stack belong to the service project (see
doc/source/security.rst), so the stack's owner cannot read them in
Mistral, and must not: their input holds the sealed traversal token and
their tasks the sealed node receipts. This filter, added by the operator
to heat-api's paste pipelines right before ``apiv1app`` (after
keystonemiddleware's ``authtoken`` and Heat's ``context``; see the
operator guide), answers one route next to Heat's API::

    GET /v1/{tenant_id}/stacks/{stack_name}/{stack_id}/workflow

and hands every other request to Heat unchanged. It decides who may see
what with Heat's own rules, as ``GET /v1/{tenant_id}/stacks/{stack_name}/
{stack_id}`` (``openstack stack show``) does: Heat's decorator checks the
URL's project against the request's and enforces the policy
``stacks:show``, and heat-engine's ``show_stack`` finds the stack only
for its project (or an admin). Only then does ``view.build`` read the
stack's executions as the service, by the id of the stack Heat returned;
nested and parent stacks named in them are shown only if heat-engine's
``identify_stack`` finds them for the caller. Errors come out in Heat's
format through Heat's ``faultwrap`` (earlier in every pipeline): the
stack's ``EntityNotFound`` is a 404, as for ``openstack stack show``.

The one module that uses Heat's API code (``heat.api``, ``heat.common.wsgi``,
``heat.rpc``).
"""

import re
import threading

from heat.api.openstack.v1 import util
# Registers [DEFAULT] auth_encryption_key, which heat-engine has and
# MistralService's configuration check reads; heat-api has no other use.
from heat.common import crypt  # noqa: F401
from heat.common import exception
from heat.common import serializers
from heat.common import wsgi
from heat.rpc import api as rpc_api
from heat.rpc import client as rpc_client
from oslo_config import cfg
from oslo_log import log as logging
from webob import exc

from heat_mistral_engine import config
from heat_mistral_engine.heat.api import view
from heat_mistral_engine.heat.clients import mistral_api

LOG = logging.getLogger(__name__)

# The route, as PATH_INFO reads once Heat's versionnegotiation has moved
# /v1 to SCRIPT_NAME (the filter sits after it in every pipeline).
ROUTE = re.compile(r'^/(?P<tenant_id>[^/]+)/stacks/(?P<stack_name>[^/]+)/'
                   r'(?P<stack_id>[^/]+)/workflow/?$')
UNAVAILABLE = ('The workflow of this stack cannot be read now: Mistral, '
               'which orders it, did not answer heat-api. Try again later; '
               'heat-api\'s log names the error.')


def filter_factory(global_conf, **local_conf):
    """paste.filter_factory of ``[filter:workflow_view]``."""
    config.register_opts(cfg.CONF)

    def workflow_view_filter(app):
        return WorkflowView(app)
    return workflow_view_filter


class WorkflowView:
    """The filter: ROUTE to ``Controller.show``, the rest to ``app``."""

    def __init__(self, app, engine=None, service=None):
        self.app = app
        controller = Controller(engine or rpc_client.EngineClient(),
                                service or LazyService(cfg.CONF))
        # Heat's Resource: its request context, error translation and
        # JSON serialisation, as for Heat's own controllers.
        self.resource = wsgi.Resource(controller,
                                      wsgi.JSONRequestDeserializer(),
                                      serializers.JSONResponseSerializer())

    def __call__(self, environ, start_response):
        match = ROUTE.match(environ.get('PATH_INFO', ''))
        if match is None or environ.get('REQUEST_METHOD') != 'GET':
            return self.app(environ, start_response)
        environ['wsgiorg.routing_args'] = ((), dict(match.groupdict(),
                                                    action='show'))
        return self.resource(environ, start_response)


class Controller:
    """The view's one action, behind Heat's checks of ``stacks:show``."""

    # util.registered_policy_enforce enforces the policy
    # <REQUEST_SCOPE>:<method name>, here stacks:show: whoever may show
    # the stack may show its workflow, and no one else.
    REQUEST_SCOPE = 'stacks'

    def __init__(self, engine, service):
        self.engine = engine
        self.service = service

    @util.registered_identified_stack
    def show(self, req, identity):
        """{"workflow": view} of the stack, with its id, name and status."""
        context = req.context
        (stack,) = self.engine.show_stack(context, identity,
                                          resolve_outputs=False)
        stack_id = stack[rpc_api.STACK_ID]['stack_id']
        action = stack[rpc_api.STACK_ACTION]
        try:
            found = view.build(self.service.get(), stack_id, action,
                               lambda other: self.visible(context, other))
        except mistral_api.MistralUnavailable as err:
            LOG.error('Workflow view of stack %s: %s', stack_id, err)
            raise exc.HTTPServiceUnavailable(explanation=UNAVAILABLE)
        found.update(stack_id=stack_id,
                     stack_name=stack[rpc_api.STACK_NAME],
                     stack_status='%s_%s' % (action,
                                             stack[rpc_api.STACK_STATUS]))
        return {'workflow': found}

    def visible(self, context, stack_id):
        """True if heat-engine finds the stack ``stack_id`` for ``context``.

        ``identify_stack`` looks a stack up by id with Heat's database
        rules (the stack's project, its stack user project, or an admin;
        deleted stacks too), and by name if that fails: the id it returns
        must be the one asked for.
        """
        if not stack_id:
            return False
        try:
            identity = self.engine.identify_stack(context, stack_id)
        except exception.EntityNotFound:
            return False
        return identity.get('stack_id') == stack_id


class LazyService:
    """One ``MistralService`` per heat-api process, made at first use.

    Not at paste load: a Mistral or Keystone that is down must not stop
    heat-api from starting. A failed attempt is retried on the next call.
    """

    def __init__(self, conf):
        self._conf = conf
        self._service = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._service is None:
                self._service = mistral_api.MistralService(self._conf)
            return self._service
