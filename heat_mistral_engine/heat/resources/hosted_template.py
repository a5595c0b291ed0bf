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

"""HOT 2021-04-16 plus ``hosted_on`` (version ``2021-04-16-hosted``).

``hosted_on: <resource name>`` says a resource (or software component) runs
on another resource. It orders exactly like ``depends_on`` (the host is
created first and deleted last), so Heat validates it the same way: an
unknown host is Heat's "The specified reference ... is incorrect" error and
a cycle is Heat's "Circular Dependency Found". The graph compiler reads the
key back from the template to label the edge ``hosted_on``
(``hosted_targets``).

Registered through the ``heat.templates`` entry point group. Heat's
``list_template_versions`` accepts only ``%Y-%m-%d`` version names as
versions and treats every other name as an alias of a class listed under
a date; so the class is also registered as
``heat_hosted_template_version.2021-04-16`` (sorted before
``heat_template_version.*``), which makes ``2021-04-16-hosted`` its alias
and keeps ``openstack orchestration template version list`` working.
"""

from heat.common import exception
from heat.engine.hot import template as hot_template

HOSTED_ON = 'hosted_on'


class HOTemplate20210416Hosted(hot_template.HOTemplate20210416):
    """HOT 2021-04-16 whose resources may say ``hosted_on: <resource>``."""

    _RESOURCE_KEYS = hot_template.HOTemplate20210416._RESOURCE_KEYS + (
        HOSTED_ON,)
    # A copy: Heat's subclasses update their parent's dict in place.
    _RESOURCE_HOT_TO_CFN_ATTRS = dict(
        hot_template.HOTemplate20210416._RESOURCE_HOT_TO_CFN_ATTRS,
        **{HOSTED_ON: None})

    def _rsrc_defn_args(self, stack, name, data):
        host = _host_of(name, data)
        for key, value in super()._rsrc_defn_args(stack, name, data):
            if key == 'depends' and host is not None:
                value = list(value or [])
                if host not in value:
                    value.append(host)
            yield key, value


def _host_of(name, data):
    host = data.get(HOSTED_ON)
    if host is None:
        return None
    if not isinstance(host, str) or not host:
        raise exception.StackValidationFailed(
            message='Resource %s %s must be the name of a resource'
                    % (name, HOSTED_ON))
    if host == name:
        raise exception.StackValidationFailed(
            message='Resource %s cannot be %s itself' % (name, HOSTED_ON))
    return host


def hosted_targets(raw_template):
    """{resource name: host name} for the ``hosted_on`` keys of a template.

    ``raw_template`` is the template as a dict (``Template.t``); templates
    of other versions have no ``hosted_on`` and give {}.
    """
    resources = raw_template.get('resources') or {}
    if not isinstance(resources, dict):
        return {}
    return {name: snippet[HOSTED_ON] for name, snippet in resources.items()
            if isinstance(snippet, dict)
            and isinstance(snippet.get(HOSTED_ON), str)}
