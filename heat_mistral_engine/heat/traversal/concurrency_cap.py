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

"""How many resource actions of one stack traversal may run at once.

Heat has no such limit. heat.conf ``[mistral_scheduler]
max_concurrent_resources`` sets the default (0: unlimited); a stack
overrides it with the tag ``mistral_max_concurrent_resources=N`` (given with
``openstack stack create|update --tags``; Heat's environment refuses unknown
sections, tags it stores and shows as they are). ``check_tags`` refuses a
bad value when the stack is created or updated; ``traversal_cap`` gives the
limit a traversal runs with.
"""

from heat.common import exception
from oslo_config import cfg

from heat_mistral_engine import config

TAG = 'mistral_max_concurrent_resources'
_PREFIX = TAG + '='


class BadCapTag(ValueError):
    """The stack's tag does not give a valid limit; the message names it."""


def tag_value(tags):
    """The limit the stack's tags set, or None if no tag sets one.

    :raises BadCapTag: a tag is not ``mistral_max_concurrent_resources=N``
        with N a whole number >= 0, or two tags set it.
    """
    values = [tag[len(_PREFIX):] for tag in tags or ()
              if tag == TAG or tag.startswith(_PREFIX)]
    if not values:
        return None
    if len(values) > 1:
        raise BadCapTag('Stack tag %s is given %d times; give it once'
                        % (TAG, len(values)))
    text = values[0].strip()
    if not text.isdigit() or not text.isascii():
        raise BadCapTag('Stack tag %s=%s is invalid: the value must be a '
                        'whole number >= 0 (0 means unlimited), for example '
                        '%s=5' % (TAG, values[0], TAG))
    return int(text)


def check_tags(tags):
    """Raise Heat's StackValidationFailed for a bad cap tag.

    Called while Heat validates a stack being created or updated, so that
    heat-api refuses the request (HTTP 400) with a message naming the tag.
    """
    try:
        tag_value(tags)
    except BadCapTag as exc:
        raise exception.StackValidationFailed(message=str(exc))


def traversal_cap(tags, node_count, conf=cfg.CONF):
    """The limit a traversal of ``node_count`` nodes runs with; 0: none.

    The stack's tag wins over heat.conf. A limit that no traversal of this
    size can reach is returned as 0, so that such a traversal pays nothing
    for it.

    :raises BadCapTag: as ``tag_value``.
    """
    cap = tag_value(tags)
    if cap is None:
        cap = conf[config.GROUP].max_concurrent_resources
    if cap >= node_count:
        return 0
    return cap
