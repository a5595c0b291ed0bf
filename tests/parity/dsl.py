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

"""A small scenario language, run the same way against two clouds.

Modelled on Heat's convergence scenario tests: a scenario is data (a
template, steps) and knows nothing of the engine under test; a ``Runner``
plays it against one cloud with the ``openstack`` command line's own
commands (run in this process: ``cli``), as a user would, and returns a
``Record`` of what the user could see after each step (stack status and
reason, each resource's status, outputs, which resources got a new
physical id, plus what a step itself reports, such as the hooks
``openstack stack hook poll`` lists). The test compares the two records
and checks, on each cloud, that the events respect every dependency.

Steps are small classes with ``run(runner)``; the runner offers the
commands and the waits they need.
"""

import json
import os
import re
import shlex
import subprocess
import tempfile
import time
import uuid

from heatclient import client as heat_client
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from mistralclient.api import client as mistral_client

from tests.parity import cli

TEMPLATES = os.path.join(os.path.dirname(__file__), 'templates')
# Seconds one request to heat-api may take (far more than at any load
# seen: a step waits for its result, not for the stack).
REQUEST_TIMEOUT = 120
UUID_RE = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                     r'[0-9a-f]{12}')


# The actions whose failed traversal Heat rolls back unless the stack's
# disable_rollback is set (heat.engine.stack.Stack.mark_failed): it stores
# ``<action>_FAILED`` first, then starts the rollback, so a poll may see
# that FAILED for an instant (longer under load) before ROLLBACK_*.
ROLLED_BACK_ACTIONS = ('CREATE', 'ADOPT', 'UPDATE', 'RESTORE')
# How long a wait keeps polling a FAILED that a rollback should follow
# before taking it as final. Heat starts the rollback in the thread that
# stored the FAILED, within a few requests; a FAILED still shown after
# this long is what the user is left with (an engine that never rolled
# back), and is recorded as such, so the comparison shows it.
ROLLBACK_START_SECS = 60

# Heat's physical resource names end in a random 12-character short id.
PHYSICAL_NAME_RE = re.compile(r'(<stack>-[\w-]+?-)[a-z0-9]{12}\b')


def normalise_text(text, stack_name=None):
    """A status or event reason with ids replaced by ``<id>``.

    The stack's name (random per run) becomes ``<stack>``, and the random
    end of a physical resource name (``<stack>-<resource>-<short id>``, in
    a timed-out resource's reason) ``<short id>``.
    """
    text = UUID_RE.sub('<id>', text or '')
    if stack_name:
        text = text.replace(stack_name, '<stack>')
        text = PHYSICAL_NAME_RE.sub(r'\1<short id>', text)
    return text


def rollback_follows(stack):
    """Whether Heat will roll back from the status ``stack`` shows.

    ``stack`` is a heatclient Stack. True for ``<action>_FAILED`` of an
    action in ROLLED_BACK_ACTIONS on a stack whose ``disable_rollback`` is
    off: Heat is about to start the rollback (``Stack.mark_failed``), so
    the status is not yet what the user is left with. A cancel without
    rollback also leaves such a status, for good: its caller knows and
    does not ask.
    """
    return (stack.stack_status == '%s_FAILED' % stack.action and
            stack.action in ROLLED_BACK_ACTIONS and
            not stack.disable_rollback)


class Cloud(object):
    """One devcloud, known by its directory (openrc lives there)."""

    def __init__(self, label, devcloud_dir, plugin):
        self.label = label
        self.plugin = plugin
        self.env = dict(os.environ)
        openrc = os.path.join(devcloud_dir, 'openrc')
        if not os.path.exists(openrc):
            raise RuntimeError('%s has no openrc: start that cloud with '
                               'tools/devcloud (tox -e parity does)' % openrc)
        with open(openrc) as lines:
            lines = lines.read().splitlines()
        for line in lines:
            match = re.match(r'export (\w+)=(.*)$', line.strip())
            if match and match.group(1) != 'PATH':
                self.env[match.group(1)] = match.group(2)
            if line.strip().startswith('unset '):
                for var in line.split()[1:]:
                    self.env.pop(var, None)
        venv_bin = os.path.join(devcloud_dir, 'venv', 'bin')
        self.env['PATH'] = venv_bin + os.pathsep + self.env.get('PATH', '')
        endpoint = self.env['OS_ENDPOINT']
        # A bound on every request: a hung heat-api fails the step
        # instead of the whole run.
        session = ks_session.Session(auth=noauth.NoAuth(endpoint=endpoint),
                                     timeout=REQUEST_TIMEOUT)
        self.heat = heat_client.Client('1', session=session,
                                       service_type='orchestration',
                                       endpoint_override=endpoint)

    def mistral(self):
        return mistral_client.client(mistral_url=self.env['MISTRAL_URL'])

    def openstack(self, *args, parse=True, check=True):
        """``openstack ARGS [-f json]`` on this cloud, in this process.

        The orchestration command ``openstack`` would run (``cli.run``),
        without the seconds a new process takes to start: a step that
        acts mid-action reaches Heat while the action still runs. Returns
        the parsed JSON output if ``parse``, else None; raises StepError
        if the command fails, unless not ``check``.
        """
        args = [str(a) for a in args] + (['-f', 'json'] if parse else [])
        try:
            output = cli.run(self.heat, args)
        except cli.CommandFailed as exc:
            if check:
                raise StepError('%s: %s' % (self.label, exc))
            return None
        return json.loads(output or 'null') if parse else None


class StepError(AssertionError):
    pass


class Record(object):
    """What a scenario left visible on one cloud."""

    def __init__(self):
        self.steps = []          # [(label, {observations})]
        self.edges = set()       # (required, dependent) seen in the stack
        self.nested = set()      # ids of nested stacks seen
        self.events = []         # (resource, status, reason), oldest first
        self.stack_name = None
        self.stack_id = None
        self.started = time.time()
        self.duration = None
        # [(step label, seconds)]: how long after WaitResource saw the
        # resource mid-action the next step's command returned. The slow
        # resources' SLOW_SECS must outlast it (doc/source/parity.rst,
        # "Timing"); a failure reports it.
        self.act_latencies = []


# Heat shows no 'nested' link for it: its child is a top-level stack,
# linked to the parent's task by the plugin all the same.
REMOTE_STACK = 'OS::Heat::Stack'


def is_nested(res):
    """True if resource ``res`` (as heat-api lists it) owns a child stack.

    Children of OS::Heat::Stack count: their executions, too, must name
    the parent task (checks.nested_link_problems).
    """
    return (res.resource_type == REMOTE_STACK
            or any(link.get('rel') == 'nested' for link in res.links))


class Runner(object):
    """Plays one scenario against one cloud."""

    POLL = 1.0

    def __init__(self, cloud, scenario):
        self.cloud = cloud
        self.scenario = scenario
        self.record = Record()
        self.physical = {}
        # Snapshot ids by the scenario's names; the abandon data's file.
        self.snapshots = {}
        self.abandoned = None
        # When WaitResource last saw its resource mid-action (time.time()),
        # until the next acting step reports its latency (acted()).
        self.mid_action_since = None

    # -- helpers for steps --------------------------------------------------
    @property
    def stack(self):
        return self.record.stack_name

    def template_args(self, template=None, environments=(), params=None):
        """``-t``/``-e``/``--parameter`` options of a create or update.

        Template and environment paths are relative to ``TEMPLATES``, or
        absolute (generated scenarios write theirs to a temporary
        directory).
        """
        args = []
        if template:
            args += ['-t', os.path.join(TEMPLATES, template)]
        for env in environments:
            args += ['-e', os.path.join(TEMPLATES, env)]
        for key, value in sorted((params or {}).items()):
            args += ['--parameter', '%s=%s' % (key, value)]
        return args

    def acted(self, label):
        """A step's command returned: record its latency if mid-action."""
        if self.mid_action_since is not None:
            self.record.act_latencies.append(
                (label, round(time.time() - self.mid_action_since, 1)))
            self.mid_action_since = None

    def get_stack(self):
        return self.cloud.heat.stacks.get(self.record.stack_id)

    def resources(self):
        found = self.cloud.heat.resources.list(self.record.stack_id)
        for res in found:
            for dependent in res.required_by:
                self.record.edges.add((res.resource_name, dependent))
            if res.physical_resource_id and is_nested(res):
                self.record.nested.add(res.physical_resource_id)
        return {r.resource_name: r for r in found}

    def wait_stack(self, timeout=240, rollback_may_follow=True):
        """Until the stack has settled; returns its status.

        Settled: not IN_PROGRESS and, if ``rollback_may_follow``, not a
        FAILED that Heat is about to roll back (``rollback_follows``):
        that one is kept polling until the rollback settles, or until it
        has shown for ROLLBACK_START_SECS (then it is returned: a real
        final FAILED is never hidden). A step that stops the traversal
        without rollback (``cancel --no-rollback``, whose FAILED is
        final) passes False.
        """
        deadline = time.time() + timeout
        failed_since = None
        while True:
            stack = self.get_stack()
            if not stack.stack_status.endswith('IN_PROGRESS'):
                if not (rollback_may_follow and rollback_follows(stack)):
                    return stack.stack_status
                if failed_since is None:
                    failed_since = time.time()
                elif time.time() - failed_since >= ROLLBACK_START_SECS:
                    return stack.stack_status
            else:
                failed_since = None
            self.resources()  # their dependency edges, while they exist
            if time.time() > deadline:
                raise StepError('%s: stack %s still %s after %d s' % (
                    self.cloud.label, self.stack, stack.stack_status,
                    timeout))
            time.sleep(self.POLL)

    def wait_action(self, action, timeout=240):
        """Until the stack's ``action`` (``'RESTORE'``, ...) has ended.

        For calls that return before Heat stores the new action: the
        stack's old status would pass for the result.
        """
        deadline = time.time() + timeout
        while True:
            stack = self.get_stack()
            if (stack.action == action and
                    not stack.stack_status.endswith('IN_PROGRESS')):
                return stack.stack_status
            if time.time() > deadline:
                raise StepError('%s: stack %s still %s after %d s, not '
                                'an ended %s' % (
                                    self.cloud.label, self.stack,
                                    stack.stack_status, timeout, action))
            time.sleep(self.POLL)

    def wait_stack_status(self, status, timeout=120):
        deadline = time.time() + timeout
        while True:
            found = self.get_stack().stack_status
            if found == status:
                return
            if time.time() > deadline:
                raise StepError('%s: stack %s not %s after %d s (%s)' % (
                    self.cloud.label, self.stack, status, timeout, found))
            time.sleep(self.POLL / 2)

    def wait_resource(self, name, status, timeout=120):
        deadline = time.time() + timeout
        while True:
            res = self.resources().get(name)
            if res is not None and res.resource_status == status:
                self.mid_action_since = time.time()
                return
            if time.time() > deadline:
                raise StepError('%s: resource %s of %s not %s after %d s '
                                '(%s)' % (self.cloud.label, name, self.stack,
                                          status, timeout,
                                          res and res.resource_status))
            time.sleep(self.POLL / 2)

    def hook_poll(self):
        """``openstack stack hook poll``: sorted (resource, reason) pairs.

        The command lists pending pre-* hooks only (it finds them in the
        events of the stack's current action).
        """
        rows = self.cloud.openstack('stack', 'hook', 'poll', self.stack)
        return sorted((row['Resource Name'], row['Resource Status Reason'])
                      for row in rows)

    def pending_hooks(self):
        """(resource, hook) pairs paused in the current stack action.

        Pre- and post- hooks, found in the events as heatclient finds pre-
        hooks.
        """
        events = self.cloud.heat.events.list(
            self.record.stack_id, sort_dir='asc', sort_keys='created_at')
        pending = set()
        for event in events:
            reason = event.resource_status_reason or ''
            if event.physical_resource_id == self.record.stack_id and \
                    reason.startswith('Stack ') and \
                    reason.endswith(' started'):
                pending = set()
            match = re.match(r'\w+ paused until Hook ([\w-]+) is cleared$',
                             reason)
            if match:
                pending.add((event.resource_name, match.group(1)))
            match = re.match(r'Hook ([\w-]+) is cleared$', reason)
            if match:
                pending.discard((event.resource_name, match.group(1)))
        return sorted(pending)

    def wait_hooks(self, expected, timeout=120):
        deadline = time.time() + timeout
        while True:
            found = self.pending_hooks()
            if found == sorted(expected):
                return found
            if time.time() > deadline:
                raise StepError('%s: hooks %s, expected %s' % (
                    self.cloud.label, found, sorted(expected)))
            time.sleep(self.POLL)

    def snapshot(self, label, **extra):
        """Record what a user sees now (the step is complete)."""
        stack = self.cloud.heat.stacks.get(self.record.stack_id)
        observed = {
            'stack_status': stack.stack_status,
            'stack_status_reason': normalise_text(stack.stack_status_reason,
                                                  self.stack),
        }
        if stack.stack_status != 'DELETE_COMPLETE':
            resources = self.resources()
            observed['resources'] = {n: r.resource_status
                                     for n, r in resources.items()}
            replaced = []
            for name, res in resources.items():
                before = self.physical.get(name)
                now = res.physical_resource_id
                if before and now and before != now:
                    replaced.append(name)
                if now:
                    self.physical[name] = now
            observed['new_physical_id'] = sorted(replaced)
            observed['outputs'] = self.outputs(stack)
        observed.update(extra)
        self.record.steps.append((label, observed))

    def outputs(self, stack):
        result = {}
        for output in stack.outputs or []:
            key = output['output_key']
            value = output.get('output_value')
            if key in self.scenario.volatile_outputs and value is not None:
                # Random by design: its shape is what both engines share.
                value = '<%s of length %d>' % (type(value).__name__,
                                               len(value))
            if output.get('output_error'):
                value = {'error': normalise_text(output['output_error'],
                                                 self.stack)}
            result[key] = value
        return result

    def load_events(self):
        events = self.cloud.heat.events.list(
            self.record.stack_id, sort_dir='asc', sort_keys='created_at')
        self.record.events = [
            (e.resource_name, e.resource_status,
             normalise_text(e.resource_status_reason, self.stack),
             e.physical_resource_id == self.record.stack_id)
            for e in events]

    # -- the scenario ---------------------------------------------------------
    def run(self):
        self.record.stack_name = 'par-%s-%s' % (self.scenario.name[:30],
                                                uuid.uuid4().hex[:6])
        try:
            for step in self.scenario.steps:
                step.run(self)
        finally:
            if self.record.stack_id:
                self.load_events()
            self.record.duration = time.time() - self.record.started
        return self.record

    def cleanup(self):
        """Delete the stack if a failed scenario left it behind."""
        if self.abandoned:
            os.unlink(self.abandoned)
            self.abandoned = None
        if not self.record.stack_id:
            return
        try:
            stack = self.get_stack()
        except Exception:
            return
        if stack.stack_status != 'DELETE_COMPLETE':
            self.cloud.openstack('stack', 'delete', '--yes',
                                 self.record.stack_id, parse=False,
                                 check=False)
            try:
                self.wait_stack()
            except Exception:
                pass  # best effort: the scenario has failed already


class Scenario(object):
    """A name, the steps, and the outputs that are random by design.

    ``unordered``: [(ACTION, required, dependent, reason)], dependency
    edges that native Heat itself does not enforce in traversals of that
    action; the order check skips them in both modes. (Whether native Heat
    happens to break them in a run depends on timing, so the test cannot
    insist that it does.)
    """

    def __init__(self, name, steps, volatile_outputs=(), unordered=(),
                 doc=''):
        self.name = name
        self.steps = steps
        self.volatile_outputs = set(volatile_outputs)
        self.unordered = list(unordered)
        self.doc = doc


# ---------------------------------------------------------------- the steps
class Create(object):
    """``openstack stack create``; waits unless ``wait=False``."""

    def __init__(self, template, environments=(), params=None, extra=(),
                 wait=True, label='create'):
        self.template = template
        self.environments = environments
        self.params = params
        self.extra = list(extra)
        self.wait = wait
        self.label = label

    def run(self, runner):
        args = ['stack', 'create'] + runner.template_args(
            self.template, self.environments, self.params) + self.extra
        created = runner.cloud.openstack(*(args + [runner.stack]))
        runner.record.stack_id = created['id']
        runner.resources()
        if self.wait:
            runner.wait_stack()
            runner.snapshot(self.label)


class Update(object):
    """``openstack stack update``; waits unless ``wait=False``.

    With a template, environments, parameters, ``--existing``, or extra
    options such as ``--rollback``.
    """

    def __init__(self, template=None, environments=(), params=None,
                 existing=False, extra=(), wait=True, label='update'):
        self.template = template
        self.environments = environments
        self.params = params
        self.existing = existing
        self.extra = list(extra)
        self.wait = wait
        self.label = label

    def run(self, runner):
        args = ['stack', 'update'] + runner.template_args(
            self.template, self.environments, self.params) + self.extra
        if self.existing:
            args.append('--existing')
        runner.cloud.openstack(*(args + [runner.stack]), parse=False)
        runner.acted(self.label)
        runner.resources()
        if self.wait:
            # The update call returns before the engine set IN_PROGRESS
            # only with the legacy engine; convergence stores it first.
            runner.wait_stack()
            runner.snapshot(self.label)


class PreviewUpdate(object):
    """``openstack stack update --dry-run``.

    Records what it would do, and that the stack is left as it was.
    """

    def __init__(self, template=None, environments=(), params=None,
                 existing=False, label='preview-update'):
        self.template = template
        self.environments = environments
        self.params = params
        self.existing = existing
        self.label = label

    def run(self, runner):
        args = ['stack', 'update', '--dry-run'] + runner.template_args(
            self.template, self.environments, self.params)
        if self.existing:
            args.append('--existing')
        shown = runner.cloud.openstack(*(args + [runner.stack]))
        # One column per kind of change (added, deleted, replaced,
        # unchanged, updated), each a list of resources.
        preview = {}
        for kind, rows in shown.items():
            if isinstance(rows, str):
                rows = json.loads(rows)
            preview[kind] = sorted(r['resource_name'] for r in rows)
        runner.snapshot(self.label, preview=preview)


class WaitStack(object):
    """Wait for the stack to settle, then record it."""

    def __init__(self, label='settled'):
        self.label = label

    def run(self, runner):
        runner.wait_stack()
        runner.snapshot(self.label)


class WaitStackStatus(object):
    """Wait until the stack shows ``status`` (e.g. ROLLBACK_IN_PROGRESS)."""

    def __init__(self, status):
        self.status = status

    def run(self, runner):
        runner.wait_stack_status(self.status)


class WaitResource(object):
    """Wait until a resource shows ``status`` (e.g. mid-create)."""

    def __init__(self, name, status):
        self.name = name
        self.status = status

    def run(self, runner):
        runner.wait_resource(self.name, self.status)


class Pause(object):
    """Let ``seconds`` pass before the next step (pins a step's timing).

    For a step that must come at a given offset into an action that a
    ``WaitResource`` saw start, e.g. a second update several seconds into
    a nested stack's update. The offset is from when the wait returned;
    the acting step's latency (``Record.act_latencies``) still counts from
    the wait, so it includes the pause.
    """

    def __init__(self, seconds):
        self.seconds = seconds

    def run(self, runner):
        time.sleep(self.seconds)


class Cancel(object):
    """``openstack stack cancel [--no-rollback]``, then wait and record."""

    def __init__(self, rollback=True, label=None):
        self.rollback = rollback
        self.label = label or ('cancel' if rollback else
                               'cancel --no-rollback')

    def run(self, runner):
        args = ['stack', 'cancel', runner.stack]
        if not self.rollback:
            args.append('--no-rollback')
        runner.cloud.openstack(*args, parse=False)
        runner.acted(self.label)
        # Without rollback Heat marks the traversal FAILED for good
        # (heat.engine.worker._stop_traversal), whatever the stack's
        # disable_rollback says.
        runner.wait_stack(rollback_may_follow=self.rollback)
        runner.snapshot(self.label)


class Delete(object):
    """``openstack stack delete``; waits unless ``wait=False``."""

    def __init__(self, wait=True, label='delete'):
        self.wait = wait
        self.label = label

    def run(self, runner):
        runner.cloud.openstack('stack', 'delete', '--yes', runner.stack,
                               parse=False)
        runner.acted(self.label)
        if self.wait:
            runner.wait_stack()
            runner.snapshot(self.label)


class StackAction(object):
    """``openstack stack check|suspend|resume``, then wait and record."""

    def __init__(self, action):
        self.action = action

    def run(self, runner):
        runner.cloud.openstack('stack', self.action, runner.stack,
                               parse=False)
        runner.wait_stack()
        runner.snapshot(self.action)


class Snapshot(object):
    """``openstack stack snapshot create``; waits for it, then records."""

    def __init__(self, name, label='snapshot'):
        self.name = name
        self.label = label

    def run(self, runner):
        created = runner.cloud.openstack(
            'stack', 'snapshot', 'create', '--name', self.name,
            runner.stack)
        runner.snapshots[self.name] = created.get('ID') or created['id']
        runner.wait_action('SNAPSHOT')
        runner.snapshot(self.label)


class Restore(object):
    """``openstack stack snapshot restore`` of a ``Snapshot``'s name."""

    def __init__(self, name, label='restore'):
        self.name = name
        self.label = label

    def run(self, runner):
        runner.cloud.openstack('stack', 'snapshot', 'restore', runner.stack,
                               runner.snapshots[self.name], parse=False)
        runner.wait_action('RESTORE')
        runner.snapshot(self.label)


class Abandon(object):
    """``openstack stack abandon``, its data kept for ``Adopt``.

    The clouds must allow it (``[DEFAULT] enable_stack_abandon``).
    """

    def __init__(self, label='abandon'):
        self.label = label

    def run(self, runner):
        handle, runner.abandoned = tempfile.mkstemp(prefix='abandon-',
                                                    suffix='.json')
        os.close(handle)
        runner.cloud.openstack('stack', 'abandon', '--output-file',
                               runner.abandoned, runner.stack, parse=False)
        runner.wait_stack()
        runner.snapshot(self.label)


class Adopt(object):
    """``openstack stack adopt`` of what ``Abandon`` kept, same name.

    The stack the scenario follows from here is the adopted one. The
    clouds must allow it (``[DEFAULT] enable_stack_adopt``).
    """

    def __init__(self, label='adopt'):
        self.label = label

    def run(self, runner):
        adopted = runner.cloud.openstack(
            'stack', 'adopt', '--adopt-file', runner.abandoned, runner.stack)
        runner.record.stack_id = adopted['id']
        runner.wait_stack()
        runner.snapshot(self.label)


class PollHooks(object):
    """Wait until the hooks ``expected`` ([(resource, hook type)]) pend.

    Then record them with what ``openstack stack hook poll`` lists (pre-*
    hooks only: the command ignores post-* hooks).
    """

    def __init__(self, expected, label=None):
        self.expected = expected
        self.label = label or 'hooks %s' % expected

    def run(self, runner):
        found = runner.wait_hooks(self.expected)
        stack = runner.get_stack()
        runner.record.steps.append((self.label, {
            'pending hooks': found,
            'hook poll': runner.hook_poll(),
            'stack_status': stack.stack_status,
            'resources': {n: r.resource_status
                          for n, r in runner.resources().items()}}))


class ClearHook(object):
    """``openstack stack hook clear`` for pre-* hooks.

    Post-* hooks have no CLI flag, so they are cleared as heatclient does
    it, by a signal with ``unset_hook`` (``openstack stack resource
    signal``).
    """

    def __init__(self, resource, hook):
        self.resource = resource
        self.hook = hook

    def run(self, runner):
        if self.hook.startswith('pre-'):
            runner.cloud.openstack('stack', 'hook', 'clear', runner.stack,
                                   self.resource, '--' + self.hook,
                                   parse=False)
        else:
            runner.cloud.openstack(
                'stack', 'resource', 'signal', runner.stack, self.resource,
                '--data', json.dumps({'unset_hook': self.hook}), parse=False)


class SignalHandle(object):
    """Signal a wait condition handle by running its ``curl_cli``.

    As a server's user-data script would.
    """

    def __init__(self, handle, data):
        self.handle = handle
        self.data = data

    def run(self, runner):
        shown = runner.cloud.openstack('stack', 'resource', 'show',
                                       runner.stack, self.handle)
        attributes = shown['attributes']
        if isinstance(attributes, str):
            attributes = json.loads(attributes)
        command = attributes['curl_cli'] + ' --data-binary ' + shlex.quote(
            json.dumps(self.data))
        proc = subprocess.run(command, shell=True, capture_output=True,
                              text=True, timeout=60, env=runner.cloud.env)
        runner.acted('signal %s' % self.handle)
        if proc.returncode != 0:
            raise StepError('%s: %s failed: %s%s' % (
                runner.cloud.label, command, proc.stdout, proc.stderr))
