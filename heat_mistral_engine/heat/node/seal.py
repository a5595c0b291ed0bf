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

"""Sealed node receipts: what a node hands its dependents through Mistral.

When Heat completes a node it seals, with Heat's own ``heat.common.crypt``
(Fernet: AES-CBC + HMAC-SHA256, keyed by heat.conf ``auth_encryption_key``),
the node's identity (stack, traversal, resource id, create/update or
cleanup) together with its node data (for a create/update node: only the
attributes other resources reference). Mistral carries the sealed text and
nothing else about the node, so

* the data is confidential: a ``hidden`` parameter value that travels
  through ``get_attr`` never sits in clear text in Mistral's database;
* the data is authenticated: a completion forged through Mistral's API
  (``PUT /v2/action_executions/<id>``), an edited task or a replayed
  receipt of another stack, traversal or node does not open;
* a receipt proves the node completed in Heat: only a heat-engine that ran
  the node seals one, so a dependent whose predecessor's receipt is missing
  or does not open is refused (see ``guard``).

The contract with the workflow compiler is ``protocol.data_key`` (the key a
predecessor's receipt has in a request's ``data``) and the action output
``{"node": <receipt>}``.
"""

from heat.common import crypt
from oslo_serialization import jsonutils

from heat_mistral_engine import protocol

_METHOD = 'cryptography_decrypt_v1'
_PURPOSE = 'hme-node-1'


class InvalidReceipt(Exception):
    """A receipt does not verify, or is not for the node it stands for."""


def seal(stack_id, traversal, resource_id, is_update, data=None):
    """Return the receipt (a str) of a completed node.

    :param data: the node's serialised NodeData (JSON-safe), or None.
    """
    payload = jsonutils.dumps({'p': _PURPOSE, 's': stack_id, 't': traversal,
                               'r': resource_id, 'u': bool(is_update),
                               'd': data})
    method, sealed = crypt.encrypt(payload)
    if method != _METHOD:
        raise RuntimeError('Heat sealed with %s, not %s' % (method, _METHOD))
    return sealed


def open_receipt(receipt, stack_id, traversal, resource_id, is_update):
    """Return the node data sealed in ``receipt`` for that exact node.

    :raises InvalidReceipt: if the receipt was not sealed by this
        deployment's heat-engine (forged, edited, other key) or was sealed
        for another stack, traversal, resource or node kind.
    """
    what = 'resource %s (%s)' % (resource_id, protocol.node_kind(is_update))
    try:
        payload = jsonutils.loads(crypt.decrypt(_METHOD, receipt))
        if not isinstance(payload, dict) or payload.get('p') != _PURPOSE:
            raise ValueError('not a node receipt')
    except Exception as exc:
        raise InvalidReceipt('the data Mistral passed for %s was not sealed '
                             'by Heat (%s): forged or edited'
                             % (what, type(exc).__name__))
    sealed_for = (payload.get('s'), payload.get('t'), payload.get('r'),
                  payload.get('u'))
    if sealed_for != (stack_id, traversal, resource_id, bool(is_update)):
        raise InvalidReceipt(
            'the data Mistral passed for %s of stack %s traversal %s was '
            'sealed for resource %s (%s) of stack %s traversal %s'
            % (what, stack_id, traversal, sealed_for[2],
               protocol.node_kind(bool(sealed_for[3])), sealed_for[0],
               sealed_for[1]))
    return payload.get('d')
