#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""jobd's calendar expressions against systemd's, over a corpus.

calendar-oracle.py ORACLE SYSTEMD_ANALYZE CORPUS

For every zone and base instant below (fixed instants, and instants just
before, at and inside each DST change of 2026-2027 in the zone), runs
`TZ=ZONE systemd-analyze calendar --base-time=@BASE --iterations=N` over the
whole corpus and calendar-oracle (jobd-calendar.c) over the same, and
compares: the same expressions refused, the same normalized forms, and the
same N next elapses (to the second, which is what systemd-analyze prints).
Exit status 1 and one line per difference when anything differs.
"""
import datetime
import os
import subprocess
import sys
import zoneinfo

ITERATIONS = 12
ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe',
         'Asia/Kolkata']
FIXED_BASES = [
    1790000000,  # 2026-09-21 14:13:20 UTC
    1798761599,  # 2026-12-31 23:59:59 UTC, a year end
    1835308800,  # 2028-02-27 00:00:00 UTC, before a leap day
]


def transitions(zone):
    """UTC instants (s) where the zone's offset changes in 2026-2027."""
    tz = zoneinfo.ZoneInfo(zone)
    t = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    end = int(datetime.datetime(2028, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    found = []
    prev = None
    while t < end:
        off = datetime.datetime.fromtimestamp(t, tz).utcoffset()
        if prev is not None and off != prev:
            lo = t - 1800  # find the exact second
            hi = t
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.datetime.fromtimestamp(mid, tz).utcoffset() == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        prev = off
        t += 1800
    return found


def bases(zone):
    out = list(FIXED_BASES)
    for t in transitions(zone):
        # before (hourly expressions cross it), just before, and inside a
        # repeated period (the second occurrence) or after a skipped one
        out += [t - 5400, t - 1, t + 1200]
    return out


def read_corpus(path):
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f
                if line.strip() and not line.startswith('#')]


def parse_stamp(text):
    # "Mon 2026-03-30 00:30:00 UTC"
    parts = text.split()
    assert parts[-1] == 'UTC', text
    dt = datetime.datetime.strptime(parts[1] + ' ' + parts[2], '%Y-%m-%d %H:%M:%S')
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp())


def systemd_accepts(analyze, expr):
    proc = subprocess.run([analyze, 'calendar', '--base-time=@1790000000', '--', expr],
                          env=dict(os.environ, TZ=':UTC', LC_ALL='C'),
                          capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


def run_systemd(analyze, zone, base, exprs):
    """The next elapses of valid expressions, as systemd-analyze prints them."""
    env = dict(os.environ, TZ=':' + zone, LC_ALL='C', SYSTEMD_COLORS='0')
    proc = subprocess.run([analyze, 'calendar', '--base-time=@%d' % base,
                           '--iterations=%d' % ITERATIONS, '--'] + exprs,
                          env=env, capture_output=True, text=True, timeout=60)
    # systemd gives up (and prints nothing) when its search loops more than
    # 1000 times; jobd stops there too, but at which iteration is unknown.
    gave_up = set()
    for line in proc.stderr.splitlines():
        prefix = "Failed to determine next elapse for '"
        if line.startswith(prefix):
            gave_up.add(line[len(prefix):line.rindex("'")])
    exprs = [e for e in exprs if e not in gave_up]
    # One block per expression, in order, separated by a blank line.
    # "Original form" is left out when it equals the
    # normalized form.
    blocks = proc.stdout.rstrip('\n').split('\n\n')
    assert len(blocks) == len(exprs), (len(blocks), len(exprs), proc.stderr)
    result = {}
    for expr, block in zip(exprs, blocks):
        current = {'normalized': None, 'times': []}
        result[expr] = current
        lines = block.splitlines()
        for i, line in enumerate(lines):
            key, _, value = line.strip().partition(': ')
            if key == 'Normalized form':
                current['normalized'] = value
            elif key == 'Next elapse' or key.startswith('Iter. #'):
                if value == 'never':
                    continue
                nxt = lines[i + 1].strip() if i + 1 < len(lines) else ''
                if nxt.startswith('(in UTC): '):
                    value = nxt[len('(in UTC): '):]
                current['times'].append(parse_stamp(value))
    return result


def run_jobd(oracle, zone, base, exprs):
    proc = subprocess.run([oracle, zone, str(base), str(ITERATIONS)],
                          input=''.join(e + '\n' for e in exprs),
                          capture_output=True, text=True, timeout=60, check=True)
    result = {}
    for line in proc.stdout.splitlines():
        fields = line.split('\t')
        if fields[1] == 'ok':
            times = [int(t) // 1000000 for t in fields[3].split()]
            result[fields[0]] = {'normalized': fields[2], 'times': times}
        else:
            result[fields[0]] = None
    return result


def fmt(times):
    return ' '.join(datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
                    .strftime('%Y-%m-%dT%H:%M:%S') for t in times)


def main():
    oracle, analyze, corpus = sys.argv[1:4]
    usage = subprocess.run([analyze, '--help'], capture_output=True, text=True).stdout
    if '--base-time' not in usage:
        print('SKIP: systemd-analyze has no --base-time (systemd < 247)')
        return 77
    exprs = read_corpus(corpus)
    assert len(exprs) >= 60, 'corpus too small'
    failures = 0
    checked = 0
    valid = [e for e in exprs if systemd_accepts(analyze, e)]
    assert len(valid) >= 60, 'too few valid expressions in the corpus'
    got = run_jobd(oracle, 'UTC', FIXED_BASES[0], exprs)
    for expr in exprs:
        if (expr in valid) != (got[expr] is not None):
            failures += 1
            print('DIFF %s: systemd %s, jobd %s' %
                  (expr, 'accepts' if expr in valid else 'refuses',
                   'refuses' if got[expr] is None else 'accepts'))
    for zone in ZONES:
        for base in bases(zone):
            want = run_systemd(analyze, zone, base, valid)
            got = run_jobd(oracle, zone, base, valid)
            for expr in valid:
                w = want.get(expr)
                g = got.get(expr)
                checked += 1
                where = '%s from @%d (%s) in %s' % (expr, base, fmt([base]), zone)
                if g is None or w is None:
                    continue  # reported above, or systemd gave up
                if w['normalized'] != g['normalized']:
                    failures += 1
                    print('DIFF %s: normalized systemd %r, jobd %r' %
                          (where, w['normalized'], g['normalized']))
                if w['times'] != g['times']:
                    failures += 1
                    print('DIFF %s:\n  systemd %s\n  jobd    %s' %
                          (where, fmt(w['times']), fmt(g['times'])))
    print('%d checks, %d differences' % (checked, failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
