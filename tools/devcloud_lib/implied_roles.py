"""Paste filter for heat-api: add the roles Keystone would imply.

Heat's ``noauth`` middleware makes every request user/project ``admin`` with
the single role ``admin``. A real Keystone token for an admin also carries
the implied roles ``member`` and ``reader``, and Heat's default policies
(``role:reader and project_id:...``) rely on that: without them heat-api
answers 403 to ``GET /stacks``. tools/devcloud inserts this filter right
after ``noauth`` in its copy of api-paste.ini; it is importable because
heat_api_wsgi.py runs from this directory.
"""

# Keystone's default role implications: admin -> member -> reader.
IMPLIES = {'admin': ('member',), 'member': ('reader',)}


def expand(roles):
    """Roles plus every role they imply, in a stable order."""
    result = []
    pending = list(roles)
    while pending:
        role = pending.pop(0)
        if role and role not in result:
            result.append(role)
            pending.extend(IMPLIES.get(role, ()))
    return result


def filter_factory(global_conf, **local_conf):
    def implied_roles_filter(app):
        def middleware(environ, start_response):
            roles = environ.get('HTTP_X_ROLES', '').split(',')
            environ['HTTP_X_ROLES'] = ','.join(
                expand(r.strip() for r in roles))
            return app(environ, start_response)
        return middleware
    return implied_roles_filter
