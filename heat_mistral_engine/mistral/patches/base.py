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

"""What every patch of Mistral's engine shares.

A patch replaces one function or attribute of Mistral 23's engine in the
Mistral process that loads this package's actions (see ``registry``).
``Patch.install`` makes every patch behave alike:

* outside a Mistral process (Mistral's configuration module not loaded,
  e.g. heat-side tools that import the actions) it does nothing and
  imports nothing of Mistral's engine, whose import would register
  Mistral's options into a foreign configuration. That is why the patches
  import Mistral inside their methods, never at module level;
* with its option in ``[heat_mistral_engine]`` off it does nothing;
* it is idempotent: a patch already in place is left as it is;
* on a Mistral that is not a release in ``SUPPORTED_MISTRAL``, or whose
  functions no longer have the parameters the patch was read with, it
  patches nothing and logs one WARNING that says why and what stays slow;
* once applied it logs one INFO line naming its option.

Mistral may serve other projects too, so each patch says (``sharing``)
what it changes for workflows that are not the package's own:

* ``SAME_FOR_EVERY_WORKFLOW``: nothing a workflow can see; every workflow
  ends with the same states, results, published values and outputs as on
  an unpatched Mistral, and only costs less. On by default.
* ``OWN_ACTIONS_ONLY``: changes only how this package's own actions
  (``heat.run_node``) run; every other action runs Mistral's code. On by
  default.
* ``TAGGED_TASKS_ONLY``: changes only tasks whose definition carries a
  tag of this package that the compiler writes into the generated
  workflows (e.g. ``workflow.NO_CONTEXT_TAG``); a task without it runs as
  upstream, whatever its workflow's name or project, and an author who
  writes the tag asks for the change. On by default.
* ``OPT_IN``: changes when tasks start, so off by default (devcloud and
  the devstack plugin's ``HEAT_MISTRAL_ENGINE_TUNE_MISTRAL`` turn it on);
  and on, it still applies only to workflows named like the generated ones
  (``generated_workflow``), which a tenant could also name its own.

doc/source/operator-guide.rst ("A Mistral shared with other projects")
says why each patch is where it is.
"""

import importlib.metadata
import inspect
import sys

from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.mistral import options

SUPPORTED_MISTRAL = ((23, 0), (24, 0))   # [min, max)

# What a patch changes for other projects' workflows (see the module).
SAME_FOR_EVERY_WORKFLOW = 'same for every workflow'
OWN_ACTIONS_ONLY = 'own actions only'
TAGGED_TASKS_ONLY = 'tagged tasks only'
OPT_IN = 'opt-in'
SHARING = (SAME_FOR_EVERY_WORKFLOW, OWN_ACTIONS_ONLY, TAGGED_TASKS_ONLY,
           OPT_IN)

# This package: its actions are the classes of its modules.
OWN_PACKAGE = __name__.split('.')[0]


class Patch:
    """One patch of Mistral; subclasses fill in the class attributes."""

    #: Its boolean option in ``[heat_mistral_engine]`` (mistral.conf).
    option = None
    #: One of ``SHARING``: what it changes for other workflows.
    sharing = None
    #: The WARNING when Mistral is left alone: "heat-mistral-engine leaves
    #: <left_alone> (<why>): <cost>."
    left_alone = None
    cost = None
    #: The INFO once applied: "heat-mistral-engine: <applied> ([group]
    #: <option>)."
    applied = None

    def installed(self):
        """True if Mistral already carries this patch."""
        raise NotImplementedError

    def mistral_problem(self):
        """Why this Mistral (a supported release) must not be patched.

        Returns None when what the patch replaces is as it was read.
        """
        raise NotImplementedError

    def apply(self):
        """Patch Mistral; called once ``incompatibility`` found nothing."""
        raise NotImplementedError

    def incompatibility(self):
        """Why Mistral must not be patched, or None."""
        return release_problem() or self.mistral_problem()

    def install(self, conf=cfg.CONF):
        """Apply the patch if its option is on; idempotent.

        Returns True when the patch is in place, False otherwise (not a
        Mistral process, the option off, or Mistral not as read: logged).
        """
        if not enabled(conf, self.option):
            return False
        # The release first: another release may not have what
        # ``installed`` looks at.
        problem = release_problem()
        if problem is None:
            if self.installed():
                return True
            problem = self.mistral_problem()
        log = logging.getLogger(type(self).__module__)
        if problem:
            log.warning('heat-mistral-engine leaves %s (%s): %s.',
                        self.left_alone, problem, self.cost)
            return False
        self.apply()
        log.info('heat-mistral-engine: %s ([%s] %s).', self.applied,
                 options.GROUP, self.option)
        return True


def in_mistral_process():
    """True in a Mistral process: Mistral's configuration module is loaded.

    Elsewhere (heat-side tools that import the actions) nothing of
    Mistral's engine may be imported: it would register Mistral's options
    into a foreign configuration.
    """
    return 'mistral.config' in sys.modules


def enabled(conf, option):
    """True if this is a Mistral process and ``option`` is on in ``conf``."""
    if not in_mistral_process():
        return False
    options.register_opts(conf)
    return bool(conf[options.GROUP][option])


def generated_workflow(name):
    """True if ``name`` is named like the package's generated workflows.

    Mistral cannot tell more: a workflow of another project named so is
    taken for one, which is why the patches scoped by it are opt-in.
    """
    return isinstance(name, str) and name.startswith(workflow.WORKFLOW_PREFIX)


def spec_name(wf_spec):
    """The name of the workflow of a Mistral ``WorkflowSpec``, or None."""
    get_name = getattr(wf_spec, 'get_name', None)
    return get_name() if callable(get_name) else None


def own_action(action):
    """True if ``action`` (an action instance) is one of this package's.

    The class must be the one its module of this package defines under
    its name: a class that only claims such a module (tenants' dynamic
    actions are Python code too) is not.
    """
    cls = type(action)
    module = sys.modules.get(cls.__module__)
    return (cls.__module__.startswith(OWN_PACKAGE + '.') and
            getattr(module, cls.__name__, None) is cls)


def release_problem():
    """Why the installed Mistral is not a release read here, or None."""
    try:
        version = importlib.metadata.version('mistral')
    except importlib.metadata.PackageNotFoundError:
        return 'Mistral is not installed'
    return version_problem('Mistral', version, SUPPORTED_MISTRAL)


def version_problem(name, version, supported):
    """Why ``version`` of ``name`` is outside ``supported``, or None.

    ``supported`` is ``((min major, minor), (max major, minor))``, the
    maximum excluded.
    """
    parts = tuple(int(p) for p in version.split('.')[:2] if p.isdigit())
    low, high = supported
    if not (low <= parts < high):
        return '%s %s is not a release this patch was read for' % (
            name, version)
    return None


def signature_problem(expected):
    """Which of (function, parameter names) ``expected`` differs, or None."""
    for function, params in expected:
        found = tuple(inspect.signature(function).parameters)
        if found != params:
            return '%s%s is not the expected %s' % (
                function.__qualname__, found, params)
    return None


def original(function):
    """What a patch replaced in ``function`` (``function`` if unpatched).

    Every wrapper a patch installs names the function it replaced in its
    ``_hme_original`` attribute.
    """
    return getattr(function, '_hme_original', function)
