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

"""Mark the stacks ``OS::Heat::Stack`` creates in this Heat; find the parent.

``OS::Heat::Stack`` (Heat's ``RemoteStack``) creates its child through
heat-api (``stacks.create``), as a separate top-level stack: Heat records
no owner, so ``nested_link`` cannot find the parent's task from Heat's own
data. This module closes the gap in two halves.

Marking, in the parent's node (heat-engine). ``install`` wraps
``RemoteStack.handle_create`` and ``handle_update``. When the child goes to
this Heat (``same_heat``: no ``credential_secret_id``, and no
``region_name`` or the region of the request's context or of heat.conf's
``region_name_for_services``), the wrapped handler

* records the mark in the parent resource's data (key ``DATA_KEY``),
  which users cannot write;
* runs Heat's own handler with its heat client wrapped for that one call,
  so that the ``stacks.create`` / ``stacks.update`` it makes also carry the
  stack tag ``mistral_parent_resource=<parent stack id>:<resource row id>``.

Why a tag: heat-api passes tags through unchanged and stores them with the
new stack before its traversal starts (heat-engine starts a create's
traversal inside the API call, before ``stacks.create`` returns the id, so
nothing the parent could record afterwards would be in time); they stay
until the stack is deleted, so the child's delete finds them too; a PUT
update replaces the tags (native Heat clears them), which is why the update
carries the tag again. Users see it (``openstack stack show``, ``openstack
stack list --tags mistral_parent_resource=...``): it is a label, not a
credential, and anyone can put it on any stack.

Finding, when the child's traversal starts (``marked_parent``, called by
``nested_link``): the tag is accepted only if what a user cannot forge
agrees with it: the resource row belongs to the stack the tag names, that
stack belongs to the child's project, and the row's data holds the same
mark, so the row is an ``OS::Heat::Stack`` this module marked in this
Heat. ``nested_link`` then requires a node of that row to be RUNNING in
the parent's current traversal. A forged or stale tag therefore links
nothing; in particular no one can hang a stack under another project's
execution.

Heat's ``RemoteStack`` is touched here only; ``install`` checks the wrapped
methods' signatures and otherwise leaves Heat alone with a warning (the
children then run unlinked, as before).
"""

import functools

from heat.common import exception as heat_exception
from heat.engine.resources.openstack.heat import remote_stack
from heat.objects import resource as resource_objects
from heat.objects import resource_data as resource_data_objects
from heat.objects import stack as stack_objects
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

TAG_KEY = 'mistral_parent_resource'
_PREFIX = TAG_KEY + '='
DATA_KEY = 'mistral_child_tag'

# (method name, expected parameters) of RemoteStack: the two handlers
# wrapped, and the client factory they call (replaced on the instance for
# the duration of one handler call).
WRAPPED = (('handle_create', ('self',)),
           ('handle_update', ('self', 'json_snippet', 'tmpl_diff',
                              'prop_diff')))
CLIENT_FACTORY = ('heat', ('self', 'cacert_path'))
CONTEXT_KEYS = ('CONTEXT', 'REGION_NAME', 'CREDENTIAL_SECRET_ID')


def mark(stack_id, resource_id):
    """The tag naming resource row ``resource_id`` of stack ``stack_id``.

    At most 80 characters, Heat's limit for a tag (a stack id is 36).
    """
    return '%s%s:%d' % (_PREFIX, stack_id, resource_id)


def parse(tags):
    """(stack id, resource row id) from a stack's tags, or None.

    None when no tag, or more than one, is a ``mistral_parent_resource``
    tag, or the tag is malformed.
    """
    values = [tag[len(_PREFIX):] for tag in tags or ()
              if tag.startswith(_PREFIX)]
    if len(values) != 1:
        return None
    stack_id, _sep, row = values[0].rpartition(':')
    if not stack_id or not row.isdigit() or not row.isascii():
        return None
    return stack_id, int(row)


def same_heat(rsrc, properties):
    """True if RemoteStack ``rsrc`` with ``properties`` targets this Heat.

    A child reached with other credentials (``credential_secret_id``) or in
    another region is another cloud's business; this Heat's region is the
    request's (Heat's own default for the property) or heat.conf's
    ``region_name_for_services``.
    """
    settings = properties[rsrc.CONTEXT] or {}
    if settings.get(rsrc.CREDENTIAL_SECRET_ID):
        return False
    region = settings.get(rsrc.REGION_NAME)
    here = (rsrc.context.region_name, cfg.CONF.region_name_for_services)
    return not region or region in here


def with_tags(kwargs, tag):
    """``stacks.create``/``update`` kwargs with ``tag`` among the tags.

    heat-api takes tags as one comma-separated string; an earlier
    ``mistral_parent_resource`` tag is replaced.
    """
    tags = kwargs.get('tags') or []
    if isinstance(tags, str):
        tags = tags.split(',')
    tags = [t for t in tags if t and not t.startswith(_PREFIX)] + [tag]
    return dict(kwargs, tags=','.join(tags))


class _TaggingStacks(object):
    """A heatclient ``stacks`` manager whose create and update add a tag."""

    def __init__(self, stacks, tag):
        self._stacks = stacks
        self._tag = tag

    def create(self, **kwargs):
        return self._stacks.create(**with_tags(kwargs, self._tag))

    def update(self, stack_id, **kwargs):
        return self._stacks.update(stack_id, **with_tags(kwargs, self._tag))

    def __getattr__(self, name):
        return getattr(self._stacks, name)


class TaggingClient(object):
    """A heatclient whose ``stacks.create``/``update`` add ``tag``."""

    def __init__(self, client, tag):
        self._client = client
        self.stacks = _TaggingStacks(client.stacks, tag)

    def __getattr__(self, name):
        return getattr(self._client, name)


def new_properties(rsrc, handler_name, *args, **kwargs):
    """The properties Heat's handler ``handler_name`` will act with.

    An update acts with the new definition's (``handle_update`` reads
    them from its ``json_snippet``): ``credential_secret_id`` may change in
    place, taking the child to another cloud or back.
    """
    if handler_name == 'handle_update':
        snippet = args[0] if args else kwargs['json_snippet']
        return snippet.properties(rsrc.properties_schema, rsrc.context)
    return rsrc.properties


def _tag_to_use(rsrc, properties):
    """The mark for ``rsrc``'s child, recorded in its data; or None.

    ``properties()`` gives the properties the handler acts with. None (the
    child is not marked) for a child in another cloud or region, or when
    the mark could not be recorded: marking never fails the resource.
    """
    try:
        if (rsrc.id is None or rsrc.stack.id is None
                or not same_heat(rsrc, properties())):
            return None
        tag = mark(rsrc.stack.id, rsrc.id)
        rsrc.data_set(DATA_KEY, tag)
        return tag
    except Exception as exc:
        LOG.warning('%s: could not mark the stack it creates for the '
                    'Mistral nested-stack link; it runs unlinked: %s',
                    rsrc.name, exc)
        return None


def _marking(handler):
    """Wrap a RemoteStack handler so that the child it touches is marked."""
    @functools.wraps(handler)
    def marked(self, *args, **kwargs):
        tag = _tag_to_use(self, lambda: new_properties(
            self, handler.__name__, *args, **kwargs))
        if tag is None:
            return handler(self, *args, **kwargs)
        factory = self.heat
        # Only this resource object and only during Heat's handler: the
        # instance attribute shadows the class's method, and is removed
        # again whatever the handler does.
        self.heat = lambda cacert_path: TaggingClient(factory(cacert_path),
                                                      tag)
        try:
            return handler(self, *args, **kwargs)
        finally:
            del self.heat

    return marked


def incompatibilities(cls=remote_stack.RemoteStack):
    """What in Heat's RemoteStack differs from what this module wraps.

    A list of messages, empty when ``cls`` is what this module was written
    for. Heat's release is not checked here: the module is installed
    after ``convergence``, which refuses other releases.
    """
    problems = heat_release.method_problems(
        'RemoteStack', cls, WRAPPED + (CLIENT_FACTORY,))
    problems.extend('RemoteStack.%s is missing' % key
                    for key in CONTEXT_KEYS if not hasattr(cls, key))
    return problems


def install(cls=remote_stack.RemoteStack):
    """Wrap RemoteStack's create and update handlers. Idempotent.

    Returns False (and leaves Heat alone, with a warning) when Heat's
    RemoteStack is not the one this module was written for.
    """
    problems = incompatibilities(cls)
    if problems:
        LOG.warning('heat-mistral-engine: OS::Heat::Stack children will '
                    'not be linked to their parent task: %s',
                    '; '.join(problems))
        return False
    heat_release.wrap_methods(cls, [name for name, _ in WRAPPED], _marking)
    return True


def marked_parent(cnxt, stack):
    """(parent stack row, parent resource row) that marked ``stack``.

    None unless ``stack`` carries a ``mistral_parent_resource`` tag that
    this Heat made for it: the resource row belongs to the tagged stack,
    that stack to ``stack``'s project, and the row's data holds the same
    mark. Whether the row's node is running is the caller's check.
    """
    found = parse(stack.tags)
    if found is None:
        return None
    parent_id, row_id = found
    tag = mark(parent_id, row_id)
    try:
        row = resource_objects.Resource.get_obj(
            cnxt, row_id, fields=('stack_id', 'name',
                                  'physical_resource_id'))
        recorded = resource_data_objects.ResourceData.get_by_key(
            cnxt, row_id, DATA_KEY)
    except heat_exception.NotFound:
        row = recorded = None
    parent = (stack_objects.Stack.get_by_id(cnxt, parent_id)
              if row is not None and row.stack_id == parent_id else None)
    if (parent is None or parent.tenant != stack.tenant_id
            or recorded is None or recorded.value != tag):
        LOG.warning('Stack %s carries the tag %s, which no OS::Heat::Stack '
                    'of its project made for it; its execution is not '
                    'linked to a parent', stack.id, tag)
        return None
    return parent, row
