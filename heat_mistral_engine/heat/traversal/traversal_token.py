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

"""The sealed token that lets a Mistral task act for one stack traversal.

heat-engine seals the stack's request context together with the stack id and
traversal id (Fernet: AES + HMAC, keyed by heat.conf ``auth_encryption_key``,
Heat's own ``heat.common.crypt``) and puts only the sealed text in the
workflow input. Mistral therefore never holds a token or password in clear,
and a token taken from one stack's workflow cannot drive another stack or
another traversal: ``open_token`` checks both ids.
"""

import collections

from heat.common import context as heat_context
from heat.common import crypt
from oslo_serialization import jsonutils


class InvalidToken(Exception):
    """The token does not verify or is not for this stack and traversal."""


# What a verified token grants: the request context to act with, the
# traversal's ``converge`` flag (``openstack stack update --converge``) and
# how many resource actions of the traversal may run at once (0: no limit;
# see concurrency_cap) and, for nodes with operator after hooks, the
# attributes those hooks get ({protocol.data_key: [names]}; see
# ``graph.hook_tasks``), and whether heat-engine stored operator hook
# requirements for the traversal (``hooks``; see
# ``store.hook_requirements``: only then does a node read them). Sealed,
# so that nothing on the way can change it, and read with the token, so
# that an unlimited traversal costs no query.
Grant = collections.namedtuple('Grant', ['context', 'converge',
                                         'max_concurrent', 'after_hooks',
                                         'hooks'],
                               defaults=(None, False))


def seal(cnxt, stack_id, traversal, converge=False, max_concurrent=0,
         after_hooks=None, hooks=False):
    """Return the sealed token (a str) for ``cnxt`` acting on the traversal."""
    fields = {'context': cnxt.to_dict(), 'stack_id': stack_id,
              'traversal': traversal, 'converge': bool(converge),
              'max_concurrent': int(max_concurrent)}
    if after_hooks:
        # Only when there are hooks: tokens of other traversals unchanged.
        fields['after_hooks'] = after_hooks
    if hooks:
        fields['hooks'] = True
    payload = jsonutils.dumps(fields)
    method, sealed = crypt.encrypt(payload)
    return '%s:%s' % (method, sealed)


def open_token(token, stack_id, traversal):
    """Return the Grant (context, converge flag, limit) sealed in ``token``.

    :raises InvalidToken: if the token was not sealed with this deployment's
        key, or was sealed for another stack or traversal.
    """
    try:
        method, sealed = str(token).split(':', 1)
        if method not in ('cryptography_decrypt_v1',):
            raise ValueError('unknown sealing method %r' % method)
        payload = jsonutils.loads(crypt.decrypt(method, sealed))
    except Exception as exc:
        raise InvalidToken('the traversal token does not verify (%s)'
                           % type(exc).__name__)
    if (payload.get('stack_id') != stack_id or
            payload.get('traversal') != traversal):
        raise InvalidToken('the traversal token was sealed for stack %s '
                           'traversal %s, not stack %s traversal %s'
                           % (payload.get('stack_id'),
                              payload.get('traversal'), stack_id, traversal))
    return Grant(heat_context.RequestContext.from_dict(payload['context']),
                 bool(payload.get('converge')),
                 int(payload.get('max_concurrent') or 0),
                 dict(payload.get('after_hooks') or {}),
                 bool(payload.get('hooks')))
