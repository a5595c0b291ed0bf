"""Which Heat release is installed (inside heat-engine).

The modules that touch Heat's private code (``hooks``, ``lean_defn``,
``shared_stack_json``) each name the releases they were read and tested
on; ``problem`` is their one check of the installed release against that.
"""

import pbr.version


def heat_version():
    return pbr.version.VersionInfo('openstack-heat').semantic_version()


def problem(supported, who):
    """Why the installed Heat is outside ``supported``, or None.

    ``supported`` is ``((min major, minor), (max major, minor))``, the
    maximum excluded; ``who`` starts the message ("X supports").
    """
    version = heat_version()
    low, high = supported
    if low <= tuple(version.version_tuple()[:2]) < high:
        return None
    return ('%s openstack-heat >= %d.%d, < %d.%d; found %s'
            % ((who,) + low + high + (version.release_string(),)))
