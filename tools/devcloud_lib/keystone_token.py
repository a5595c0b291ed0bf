"""Print a Keystone token and its project id: ``TOKEN PROJECT_ID``.

tools/devcloud's probes in Keystone mode send the token, and Heat's URLs
name the project. Standard library only (runs with any python3).

Usage: keystone_token.py AUTH_URL_V3 USERNAME PASSWORD PROJECT_NAME
(user and project in the default domain). Exits 1 when Keystone refuses
or does not answer.
"""

import json
import sys
import urllib.request


def main(argv):
    auth_url, username, password, project = argv
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': username, 'domain': {'id': 'default'},
            'password': password}}},
        'scope': {'project': {'name': project,
                              'domain': {'id': 'default'}}}}}
    request = urllib.request.Request(
        auth_url + '/auth/tokens', data=json.dumps(body).encode(),
        headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            token = answer.headers['X-Subject-Token']
            project_id = json.load(answer)['token']['project']['id']
    except Exception as exc:  # noqa: BLE001 - any failure means "no token"
        print('no token: %s' % exc, file=sys.stderr)
        return 1
    print('%s %s' % (token, project_id))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
