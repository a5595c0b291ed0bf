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

"""Refuse a stack whose operator hooks cannot run (inside heat-engine).

Called while Heat validates a stack being created, updated or previewed
(``startup.wiring`` hands it to the ``Stack.validate`` patch), so that
heat-api answers HTTP 400 before any resource exists: the hooks file cannot
be read or parsed, or a hook that applies to one of the stack's resources
names a workflow that does not exist in Mistral, or whose declared input
does not take what the hook passes. Messages name the hooks file, the entry
and the workflow.
"""

from heat.common import exception
from oslo_config import cfg

from heat_mistral_engine import config
from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.operator_hooks import hooks_file


def check_stack(stack, conf=cfg.CONF):
    """Raise Heat's StackValidationFailed if the stack's hooks cannot run."""
    if not conf[config.GROUP].enabled:
        return
    try:
        hooks = hooks_file.load(conf)
    except operator_hooks.HooksFileError as exc:
        raise exception.StackValidationFailed(message=str(exc))
    applying = hooks_for(hooks, stack)
    if not applying:
        return
    path = conf[config.GROUP].operator_hooks_file
    try:
        service = mistral_api.MistralService(conf)
        for hook in applying:
            problem = hook_problem(service, hook)
            if problem:
                raise exception.StackValidationFailed(message=(
                    'Operator hook %s of hooks file %s: %s'
                    % (hook.describe(), path, problem)))
    except mistral_api.MistralUnavailable as exc:
        raise exception.StackValidationFailed(message=(
            'Cannot check the operator hooks of hooks file %s: %s'
            % (path, exc)))


def hooks_for(hooks, stack):
    """The hooks that apply to any resource of the stack, in file order."""
    resources = [(name, rsrc.type()) for name, rsrc in
                 stack.resources.items()]
    return [hook for hook in hooks
            if any(hook.matches(name, rtype) for name, rtype in resources)]


def hook_problem(service, hook):
    """Why the hook's workflow cannot be called as the hook calls it."""
    declared = service.workflow_input(hook.workflow)
    if declared is None:
        return ('workflow %s does not exist in Mistral (it must be created '
                'in the project heat-engine uses for Mistral)'
                % hook.workflow)
    return operator_hooks.input_problem(hook, declared)
