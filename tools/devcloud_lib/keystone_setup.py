"""Fill devcloud's Keystone with the accounts and catalog the cloud needs.

Run by ``tools/devcloud start --keystone`` after ``keystone-manage
bootstrap`` (which made the admin user, the admin project, the roles
admin/member/reader, region RegionOne and the identity endpoints). Every
step is idempotent: a start finds what an earlier start made and keeps it,
passwords included (they are reset to the given ones).

Made here:

* project ``service`` with users ``heat`` and ``mistral`` (role admin, as
  devstack does: authtoken validates tokens with them, Heat's trustee and
  heat-mistral-engine's ``[mistral_scheduler]`` account is ``heat``);
* catalog entries for orchestration (heat) and workflowv2 (mistral);
* projects ``demo-a`` and ``demo-b``, each with one user of the same name
  and role member there (and nowhere else);
* Heat's stack user domain, as ``heat-keystone-setup-domain`` and devstack
  make it: domain ``heat``, its admin ``heat_domain_admin`` (role admin on
  that domain only) and role ``heat_stack_user``, which Heat gives the
  users it creates for signals and in-instance agents (HEAT_SIGNAL,
  POLL_SERVER_HEAT) in a project of that domain.

Usage::

    python keystone_setup.py --auth-url URL --admin-password PW \\
        --heat-url URL --mistral-url URL --password-prefix P \\
        --accounts-file accounts.json

Writes ``accounts.json``: {name: {username, password, project_name,
user_domain_name, project_domain_name, auth_url}} for admin, heat,
mistral, demo-a and demo-b, which tools/devcloud turns into openrc files
and the functional tests read to make one client per project.
"""

import argparse
import json
import os

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from keystoneclient.v3 import client as ks_client

DOMAIN = 'default'
REGION = 'RegionOne'
SERVICE_PROJECT = 'service'
SERVICE_USERS = ('heat', 'mistral')
DEMO_PROJECTS = ('demo-a', 'demo-b')
# Must match heat.conf's stack_user_domain_name and stack_domain_admin
# (tools/devcloud heat_auth_defaults); the admin's password is
# --password-prefix + its name, like the other accounts.
STACK_DOMAIN = 'heat'
STACK_DOMAIN_ADMIN = 'heat_domain_admin'
STACK_USER_ROLE = 'heat_stack_user'
# service name, type, description
SERVICES = (('heat', 'orchestration', 'Heat Orchestration'),
            ('mistral', 'workflowv2', 'Mistral Workflow'))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--auth-url', required=True,
                        help='Keystone v3 URL, e.g. http://127.0.0.1:5000/v3')
    parser.add_argument('--admin-password', required=True)
    parser.add_argument('--heat-url', required=True,
                        help='orchestration endpoint, with %%(project_id)s')
    parser.add_argument('--mistral-url', required=True)
    parser.add_argument('--password-prefix', required=True,
                        help='every account but admin gets prefix + name')
    parser.add_argument('--accounts-file', required=True)
    return parser.parse_args()


def admin_client(auth_url, password):
    auth = v3.Password(auth_url=auth_url, username='admin', password=password,
                       project_name='admin', user_domain_id=DOMAIN,
                       project_domain_id=DOMAIN)
    return ks_client.Client(session=ks_session.Session(auth=auth),
                            interface='public')


def ensure_project(ks, name, description):
    found = ks.projects.list(domain=DOMAIN, name=name)
    if found:
        return found[0]
    return ks.projects.create(name, DOMAIN, description=description)


def ensure_user(ks, name, password, project, domain=DOMAIN):
    found = ks.users.list(domain=domain, name=name)
    if found:
        # Reset: the password is derived from settings that may change.
        return ks.users.update(found[0], password=password)
    return ks.users.create(name, domain=domain, password=password,
                           default_project=project)


def grant(ks, role_name, user, project=None, domain=None):
    role = ks.roles.list(name=role_name)[0]
    ks.roles.grant(role, user=user, project=project, domain=domain)


def ensure_stack_domain(ks, password):
    """Heat's stack user domain, its admin and the stack user role."""
    found = ks.domains.list(name=STACK_DOMAIN)
    domain = found[0] if found else ks.domains.create(
        STACK_DOMAIN, description='Owns users and projects created by Heat')
    admin = ensure_user(ks, STACK_DOMAIN_ADMIN, password, None,
                        domain=domain)
    grant(ks, 'admin', admin, domain=domain)
    if not ks.roles.list(name=STACK_USER_ROLE):
        ks.roles.create(STACK_USER_ROLE)


def ensure_service(ks, name, service_type, description, url):
    found = ks.services.list(type=service_type)
    service = found[0] if found else ks.services.create(
        name, service_type, description=description)
    endpoints = {e.interface: e for e in ks.endpoints.list(service=service)}
    for interface in ('public', 'internal', 'admin'):
        if interface not in endpoints:
            ks.endpoints.create(service, url, interface=interface,
                                region=REGION)
        elif endpoints[interface].url != url:
            # Another port this time (DEVCLOUD_*_PORT changed).
            ks.endpoints.update(endpoints[interface], url=url)


def account(auth_url, username, password, project):
    return {'username': username, 'password': password,
            'project_name': project, 'user_domain_name': 'Default',
            'project_domain_name': 'Default', 'auth_url': auth_url}


def main():
    args = parse_args()
    ks = admin_client(args.auth_url, args.admin_password)
    accounts = {'admin': account(args.auth_url, 'admin', args.admin_password,
                                 'admin')}
    service = ensure_project(ks, SERVICE_PROJECT, 'OpenStack services')
    for name in SERVICE_USERS:
        password = args.password_prefix + name
        user = ensure_user(ks, name, password, service)
        grant(ks, 'admin', user, service)
        accounts[name] = account(args.auth_url, name, password,
                                 SERVICE_PROJECT)
    for name in DEMO_PROJECTS:
        project = ensure_project(ks, name, 'devcloud demo project')
        password = args.password_prefix + name
        user = ensure_user(ks, name, password, project)
        grant(ks, 'member', user, project)
        accounts[name] = account(args.auth_url, name, password, name)
    ensure_stack_domain(ks, args.password_prefix + STACK_DOMAIN_ADMIN)
    urls = {'orchestration': args.heat_url, 'workflowv2': args.mistral_url}
    for name, service_type, description in SERVICES:
        ensure_service(ks, name, service_type, description,
                       urls[service_type])
    tmp = args.accounts_file + '.tmp'
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              'w') as f:
        json.dump(accounts, f, indent=1, sort_keys=True)
    os.replace(tmp, args.accounts_file)


if __name__ == '__main__':
    main()
