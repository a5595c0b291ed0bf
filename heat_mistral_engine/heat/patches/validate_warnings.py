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

"""Warnings in the answer of ``openstack orchestration template validate``.

Heat's ``EngineService.validate_template`` answers ``Description``,
``Parameters``, ``ParameterGroups`` and ``Environment``, or ``Error``: it
has no place for a warning, and a resource that finds something worth
saying but no error can only refuse the template or stay silent.
``install`` wraps that method so that what resources ``warn`` while it
runs comes back in its answer as ``Warnings``, a list of sentences, which
heatclient shows with the rest (``openstack orchestration template
validate``). Nothing else changes: no warning, no ``Warnings``; an answer
with ``Error`` keeps only the error. A warning outside that method (a
stack create's validation) is dropped here: ``warn`` says so, and the
caller finds another way.
"""

import functools
import threading

from heat.engine import service as heat_service

from heat_mistral_engine.heat.patches import heat_release

KEY = 'Warnings'
_EXPECTED_PARAMS = ('self', 'cnxt', 'template', 'params', 'files',
                    'environment_files', 'files_container', 'show_nested',
                    'ignorable_errors')

# The warnings of the validate_template running in this thread (or green
# thread: heat-engine monkey-patches threading), None outside one.
_running = threading.local()


def warn(text):
    """Add ``text`` to the answer of the template validation now running.

    Returns False when no ``openstack orchestration template validate`` is
    running in this thread (nothing was added). A text given twice is
    shown once.
    """
    found = getattr(_running, 'warnings', None)
    if found is None:
        return False
    if text not in found:
        found.append(text)
    return True


def install():
    """Wrap ``EngineService.validate_template``; idempotent.

    :raises heat_release.IncompatibleHeat: the method does not take the
        parameters it was wrapped for (nothing is wrapped then).
    """
    current = heat_service.EngineService.validate_template
    if getattr(current, '_hme_original', None) is not None:
        return
    # inspect.signature reads through Heat's request_context decorator.
    heat_release.check(signatures=(
        ('EngineService.validate_template', current, _EXPECTED_PARAMS),))

    @functools.wraps(current)
    def validate_template(self, *args, **kwargs):
        outer = getattr(_running, 'warnings', None)
        _running.warnings = []
        try:
            result = current(self, *args, **kwargs)
            found = _running.warnings
        finally:
            _running.warnings = outer
        if found and isinstance(result, dict) and 'Error' not in result:
            result[KEY] = found
        return result

    validate_template._hme_original = current
    heat_service.EngineService.validate_template = validate_template
