"""Tell whether given heat-engine processes have registered with Heat.

A heat-engine has no port of its own. Each of its workers writes a row in
Heat's ``service`` table when it starts and refreshes it every
``periodic_interval``; heat-api lists those rows at ``GET /services``.
Rows outlive their engine by a few minutes, so only rows created after the
engine process started count.

Usage: engine_check.py HEAT_URL HOST=PID [HOST=PID ...]
Prints one line per host: ``HOST up N`` or ``HOST down``; exits 0 when every
host has at least one live row, 1 otherwise, 2 when heat-api did not answer.
Standard library only: it runs before and after the venv exists.
"""

import datetime
import json
import os
import sys
import urllib.request

# Clock skew between /proc and MariaDB's NOW() (both local, but the DB
# stores whole seconds).
SLACK_S = 2


def process_start(pid):
    """Start time of a process, as a naive UTC datetime."""
    with open('/proc/%d/stat' % pid) as f:
        # Field 22 (starttime, clock ticks since boot) follows the
        # parenthesised command name, which may contain spaces.
        fields = f.read().rsplit(')', 1)[1].split()
    ticks = int(fields[19])
    with open('/proc/stat') as f:
        btime = next(int(line.split()[1]) for line in f
                     if line.startswith('btime '))
    epoch = btime + ticks / os.sysconf('SC_CLK_TCK')
    return datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).replace(tzinfo=None)


def parse_time(value):
    value = value.replace('Z', '').split('+')[0]
    return datetime.datetime.fromisoformat(value)


def main(argv):
    heat_url, pairs = argv[0], argv[1:]
    try:
        request = urllib.request.Request(heat_url + '/services')
        # Keystone mode: tools/devcloud exports an admin token.
        if os.environ.get('PROBE_TOKEN'):
            request.add_header('X-Auth-Token', os.environ['PROBE_TOKEN'])
        with urllib.request.urlopen(request, timeout=10) as r:
            services = json.load(r)['services']
    except Exception as exc:  # noqa: BLE001 - any failure means "no answer"
        print('heat-api did not answer: %s' % exc)
        return 2
    ok = True
    for pair in pairs:
        host, pid = pair.split('=')
        try:
            started = process_start(int(pid)) - datetime.timedelta(
                seconds=SLACK_S)
        except (OSError, ValueError):
            print('%s down' % host)
            ok = False
            continue
        live = [s for s in services
                if s['host'] == host and s['status'] == 'up'
                and parse_time(s['created_at']) >= started]
        print('%s up %d' % (host, len(live)) if live else '%s down' % host)
        ok = ok and bool(live)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
