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

"""The message a Mistral action sends to a heat-engine: one resource node.

Pure and shared: mistral-executor builds it with ``node_request``,
heat-engine parses it with ``NodeRequest.from_dict``. Anything that does not
parse is refused with ``BadNodeRequest``, whose message names the field.

Version 2 fields (all required, except ``completion_topic``):

=====================  ======  ==============================================
action_execution_id    str     the Mistral action execution to complete
stack_id               str     the stack
traversal              str     the traversal the workflow was compiled for
resource_id            int     the resource row of the node
is_update              bool    True: create/update node, False: cleanup node
data                   dict    {data_key: receipt} of predecessors
token                  str     sealed traversal token (see traversal_token)
completion_topic       str     optional: the topic on Heat's bus where
                               Mistral's engines take this node's result
                               (``complete_action``); absent: through
                               Mistral's API. Words of ``[A-Za-z0-9_.-]``;
                               heat-engine calls it only if it is
                               ``completion_topic(rpc_topic)`` of its own
                               ``rpc_topic``
=====================  ======  ==============================================

``data`` maps ``data_key(resource_id, is_update)`` of each predecessor to
the receipt heat-engine sealed when it completed that node (see
``heat.node.seal``); Mistral carries receipts but cannot read or forge them.
Version 1 carried node data in clear text; heat-engine refuses it.
``completion_topic`` was added to version 2 as an optional field: an
engine that does not know it ignores it and completes through the API.
"""

import dataclasses
import re

VERSION = 2
RPC_METHOD = 'run_node'
RPC_API_VERSION = '1.0'
MAX_ID_LENGTH = 255

# Direct completions (see ``mistral.completion_server``): heat-engine calls
# this method on a request's ``completion_topic``, on Heat's exchange, with
# ``action_execution_id``, ``state`` (SUCCESS or ERROR), ``output`` (the
# JSON object the API would have been sent) and, since 1.1, the node it
# completes (``COMPLETION_NODE``: what the request's verified token and
# its fields name). The Mistral engine completes only that node's own
# action execution, as its database shows it; otherwise it raises
# ``ForeignActionExecution``, and nothing completes it (the API neither).
COMPLETION_METHOD = 'complete_action'
COMPLETION_RPC_API_VERSION = '1.1'
COMPLETION_STATES = ('SUCCESS', 'ERROR')
COMPLETION_NODE = ('stack_id', 'traversal', 'resource_id', 'is_update')
_TOPIC = re.compile(r'[A-Za-z0-9_.-]+\Z')


def completion_topic(rpc_topic):
    """The one topic Mistral's engines take completions on.

    Both sides derive it from ``rpc_topic`` (heat.conf ``[mistral_scheduler]``
    and mistral.conf ``[heat_mistral_engine]``, which must match), so a
    heat-engine can tell a request's ``completion_topic`` is the real one.
    """
    return '%s-completions' % rpc_topic


class ForeignActionExecution(ValueError):
    """The action execution is not the node's own, as Mistral shows it.

    Raised by the Mistral engine for a direct completion (heat-engine sees
    the class name in the RemoteError) and by heat-engine's API client
    before it reports an error; nothing was completed.
    """


def completion_node(**fields):
    """The ``COMPLETION_NODE`` fields, checked as a request's are.

    :raises BadNodeRequest: a field is missing or invalid.
    """
    node = {}
    for name in COMPLETION_NODE:
        if fields.get(name) is None:
            raise BadNodeRequest('a completion lacks %s' % name)
        node[name] = _checked(name, fields[name])
    return node


def data_key(resource_id, is_update):
    """The key of a predecessor's receipt in a request's ``data``."""
    return '%s:%d' % ('update' if is_update else 'cleanup', resource_id)


def read_data_key(key):
    """(resource id, is_update) of a ``data_key``; ValueError if not one."""
    kind, _sep, resource_id = str(key).partition(':')
    if kind not in ('update', 'cleanup') or not resource_id.isdigit():
        raise ValueError('not a node data key: %r' % (key,))
    return int(resource_id), kind == 'update'


def node_kind(is_update):
    """How log lines on both sides name a node's kind."""
    return 'create/update' if is_update else 'cleanup'


class BadNodeRequest(ValueError):
    """The message is not a valid node request."""


@dataclasses.dataclass(frozen=True)
class NodeRequest:
    action_execution_id: str
    stack_id: str
    traversal: str
    resource_id: int
    is_update: bool
    data: dict
    token: str
    completion_topic: str = None

    @classmethod
    def from_dict(cls, message):
        _check_envelope(message, 'node request', VERSION)
        values = {}
        for field in dataclasses.fields(cls):
            optional = field.default is not dataclasses.MISSING
            if field.name not in message:
                if optional:
                    continue
                raise BadNodeRequest('node request lacks %s' % field.name)
            if optional and message[field.name] is None:
                continue
            values[field.name] = _checked(field.name, message[field.name])
        return cls(**values)

    def to_dict(self):
        message = dataclasses.asdict(self)
        if self.completion_topic is None:
            # As a request of an engine without direct completions.
            del message['completion_topic']
        message['version'] = VERSION
        return message


def node_request(**fields):
    """Build a validated request message (a dict) from keyword fields."""
    message = dict(fields, version=VERSION)
    return NodeRequest.from_dict(message).to_dict()


def _check_envelope(message, what, version):
    """Refuse a message that is not an object of the expected version."""
    if not isinstance(message, dict):
        raise BadNodeRequest('a %s must be an object, not %s'
                             % (what, type(message).__name__))
    if message.get('version') != version:
        raise BadNodeRequest('unsupported %s version %s'
                             % (what, short(message.get('version'))))


def _checked(name, value):
    if name == 'resource_id':
        if isinstance(value, bool) or not isinstance(value, int) or not (
                0 <= value < 2 ** 63):
            raise BadNodeRequest('resource_id must be a non-negative 64-bit '
                                 'integer, not %s' % short(value))
        return value
    if name == 'is_update':
        if not isinstance(value, bool):
            raise BadNodeRequest('is_update must be true or false, not %s'
                                 % short(value))
        return value
    if name == 'data':
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) and v
                for k, v in value.items()):
            raise BadNodeRequest('data must map predecessor keys to sealed '
                                 'receipts (strings)')
        return value
    if not isinstance(value, str) or not value:
        raise BadNodeRequest('%s must be a non-empty string' % name)
    if name != 'token' and len(value) > MAX_ID_LENGTH:
        raise BadNodeRequest('%s is longer than %d characters'
                             % (name, MAX_ID_LENGTH))
    if name == 'completion_topic' and not _TOPIC.match(value):
        # A topic is a routing key on Heat's broker: no room for more.
        raise BadNodeRequest('completion_topic must be words of '
                             '[A-Za-z0-9_.-], not %s' % short(value))
    return value


def short(value, limit=60):
    """repr of a refused value, cut so that garbage cannot flood the log."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


# Operator hooks (see graph.hook_tasks): the Mistral action
# ``heat.hook_report`` tells heat-engine that a hook failed, or that a node's
# after hooks are done. A separate method and a minor RPC version, so that
# node requests are unchanged and an engine without hooks refuses reports
# (oslo.messaging: unsupported version) rather than misread them.
HOOK_REPORT_METHOD = 'hook_report'
HOOK_RPC_API_VERSION = '1.1'
HOOK_REPORT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class HookReport:
    """A hook's end.

    ``hook`` set: that hook failed (``error``: the task's state info,
    ``details``: its result; ``workflow``, ``when``, ``action`` and
    ``timeout`` describe it). Otherwise
    ``receipt`` is the node's sealed receipt: its after hooks are done.
    The resource's name is not part of a report (it is template text, which
    the workflow may not carry); fields not listed are ignored.
    """

    stack_id: str
    traversal: str
    token: str
    resource_id: int
    is_update: bool
    hook: str = None
    workflow: str = None
    when: str = None
    action: str = None
    timeout: int = None
    error: str = None
    receipt: str = None
    # The failed hook task's result as Mistral gives it (JSON): for a
    # sub-workflow, ``{"result": message}``, in a list for with-items.
    details: object = None

    _REQUIRED = ('stack_id', 'traversal', 'token', 'resource_id',
                 'is_update')

    @classmethod
    def from_dict(cls, message):
        _check_envelope(message, 'hook report', HOOK_REPORT_VERSION)
        values = {}
        for field in dataclasses.fields(cls):
            value = message.get(field.name)
            if field.name in cls._REQUIRED:
                if field.name not in message:
                    raise BadNodeRequest('hook report lacks %s' % field.name)
                values[field.name] = _checked(field.name, value)
            elif field.name == 'timeout':
                if value is not None and (isinstance(value, bool) or
                                          not isinstance(value, int)):
                    raise BadNodeRequest('timeout must be an integer')
                values[field.name] = value
            elif field.name == 'details':
                values[field.name] = value
            elif value is not None:
                values[field.name] = str(value)
        if values.get('hook') is None and values.get('receipt') is None:
            raise BadNodeRequest('a hook report names the failed hook or '
                                 'carries the node\'s receipt')
        return cls(**values)

    @property
    def failed(self):
        return self.hook is not None

    def to_dict(self):
        message = dataclasses.asdict(self)
        message['version'] = HOOK_REPORT_VERSION
        return message


def hook_report(**fields):
    """Build a validated hook report message (a dict)."""
    return HookReport.from_dict(
        dict(fields, version=HOOK_REPORT_VERSION)).to_dict()
