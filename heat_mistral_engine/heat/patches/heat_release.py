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

"""The one check that the installed Heat is what the patches were written for.

Every module of this package replaces or wraps some of Heat's private code.
They were all read and tested on the Heat releases ``SUPPORTED_HEAT``
names, and each checks, before it patches anything, the installed release
and the parameters of every method it replaces, with ``check`` (or, to
collect problems rather than raise, ``release_problem`` and
``signature_problem``). A failed check is an ``IncompatibleHeat``: the
traversal patch (``convergence``) then stops heat-engine's start, the
optional ones leave Heat alone with a warning.
"""

import inspect

import pbr.version

# Heat releases whose private code the patches were read and tested on.
SUPPORTED_HEAT = ((27, 0), (28, 0))   # [min, max)


class IncompatibleHeat(RuntimeError):
    """The installed Heat is not what a patch was written for.

    The message names the release, or the method and its parameters.
    """


def heat_version():
    """The installed openstack-heat's ``pbr`` semantic version."""
    return pbr.version.VersionInfo('openstack-heat').semantic_version()


def release_problem(who):
    """Why the installed Heat is outside ``SUPPORTED_HEAT``, or None.

    ``who`` starts the message ("X supports openstack-heat >= ...").
    """
    version = heat_version()
    low, high = SUPPORTED_HEAT
    if low <= tuple(version.version_tuple()[:2]) < high:
        return None
    return ('%s openstack-heat >= %d.%d, < %d.%d; found %s'
            % ((who,) + low + high + (version.release_string(),)))


def signature_problem(name, func, expected, leading=False):
    """Why ``func``'s parameters are not ``expected``, or None.

    ``name`` names ``func`` in the message (``Owner.method``);
    ``leading``: only the first ``len(expected)`` parameters must match
    (a method that may gain keyword arguments). A missing ``func`` (None)
    is a problem too.
    """
    if not callable(func):
        return '%s is missing' % name
    params = tuple(inspect.signature(func).parameters)
    found = params[:len(expected)] if leading else params
    if found == tuple(expected):
        return None
    return ('%s%s does not match the expected parameters %s'
            % (name, params, tuple(expected)))


def check(who=None, signatures=()):
    """Raise ``IncompatibleHeat`` unless Heat is what ``who`` was written for.

    Checks the release (``release_problem(who)``; not when ``who`` is
    None), then each ``(name, func, expected parameters)`` or ``(name,
    func, expected, leading)`` of ``signatures`` (``signature_problem``);
    the first problem is raised.
    """
    problem = who and release_problem(who)
    if problem:
        raise IncompatibleHeat(problem)
    for signature in signatures:
        problem = signature_problem(*signature)
        if problem:
            raise IncompatibleHeat(problem)


def original(method):
    """Heat's own ``method``: the one a wrapper of this package replaced.

    A wrapper records what it replaced in ``_hme_original``; a method not
    wrapped is its own original.
    """
    return getattr(method, '_hme_original', method)


def method_problems(owner, cls, expected):
    """Why ``cls``'s methods are not what a wrapper of them expects.

    ``expected``: ``(method name, parameters)`` pairs; ``owner`` names
    ``cls`` in the messages. Checks Heat's originals, so a class already
    wrapped is checked as it came. Returns the list of problems
    (``signature_problem``), empty when all match.
    """
    problems = (signature_problem('%s.%s' % (owner, name),
                                  original(getattr(cls, name, None)), params)
                for name, params in expected)
    return [problem for problem in problems if problem]


def wrap_methods(cls, names, wrapper):
    """Replace each method ``names`` of ``cls`` by ``wrapper(method)``, once.

    A method already wrapped by this package (it has ``_hme_original``) is
    left as it is, so installing twice wraps once; each new wrapper records
    the method it replaced in ``_hme_original``. The caller checks the
    signatures first (``method_problems``).
    """
    for name in names:
        method = getattr(cls, name)
        if getattr(method, '_hme_original', None) is None:
            wrapped = wrapper(method)
            wrapped._hme_original = method
            setattr(cls, name, wrapped)
