#!/usr/bin/env python3
"""Alert-level and operating-point numbers of the behaviour model for devices
still in their own learning period (docs/evaluation.md, "Behavioural anomaly
detection", "Per-category baselines").

    eval/anomaly-learning.py OUT_PREFIX

OUT_PREFIX holds one eval/lab-anomaly.sh output folder per lab run, named
after the run (full-21 ... full-26, full2-31, full2-33 ... full2-35,
benign-21 ... benign-24, benign-31; missing ones are skipped), each
with scores.csv, eve.json and report.txt. Per attack it prints: runs in
which attack packets were scored while their sender was in its own learning
period, how many, the share flagged (score over the threshold in force, the
`threshold` column), the runs in which a `behaviour` alert covers the
attack (its span overlaps the label window -2 s..+30 s and it names the
attacker or a victim), and the per-packet AUC / TPR of `ward eval`.
Unmatched behaviour alerts are false alarms.
"""
import os
import sys
"""Per-attack analysis of a lab-anomaly.sh output dir: positives (ward-eval's rule:
label window +-2 s, from/to the attacker's address or from the attacker's MAC), how many
were scored while their sender was in its own learning period, what fraction of those
were over the threshold in force, and behaviour alerts matched to the label
(window -2 s..+30 s overlap, names attacker or a victim)."""
import csv, json, collections, ipaddress, re
from datetime import datetime, timezone
def ts(s):
    return datetime.strptime(s.replace('Z',''), '%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=timezone.utc).timestamp()
def run(d, full):
    labels = list(csv.DictReader(open(f'{full}/labels.csv')))
    rows = list(csv.DictReader(open(f'{d}/scores.csv')))
    # attacker MAC: the MAC most often seen with the address
    macs = collections.defaultdict(collections.Counter)
    for x in rows: macs[x['src']][x['src_mac']] += 1
    alerts = []
    for l in open(f'{d}/eve.json'):
        e = json.loads(l)
        if e.get('event_type') == 'alert' and e['alert'].get('detector') == 'behaviour':
            a = e['alert']; alerts.append((ts(a['first_seen']), ts(a['last_seen']), a.get('attacker'), set(a.get('victims', [])), a['summary']))
    used = set(); out = []
    for lb in labels:
        s, e = ts(lb['start']), ts(lb['end']); atk = lb['attacker']
        vict = [v for v in lb['victims'].split(';') if v]
        mac = macs[atk].most_common(1)[0][0] if macs[atk] else None
        pos = [x for x in rows if s-2 <= ts(x['timestamp']) <= e+2 and x['phase'] in ('scoring','device-learning')
               and (x['src'] == atk or x['dst'] == atk or x['src_mac'] == mac)]
        dl = [x for x in pos if x['phase'] == 'device-learning']
        over = [x for x in dl if float(x['score']) > float(x['threshold'])]
        def names(a):
            ips = {a[2]} | a[3]
            for v in vict + [atk]:
                if '/' in v:
                    net = ipaddress.ip_network(v, strict=False)
                    if any(ipaddress.ip_address(i) in net for i in ips if i and ':' not in i): return True
                elif v in ips: return True
            return False
        hit = [i for i, a in enumerate(alerts) if a[0] <= e+30 and a[1] >= s-2 and names(a)]
        used.update(hit)
        out.append((lb['label'], len(pos), len(dl), len(over), len(hit)))
    false = [a for i, a in enumerate(alerts) if i not in used]
    return out, false, len(alerts)


def main():
    base = sys.argv[1]
    sets = {'full': ['full-21','full-22','full-23','full-24','full-25','full-26'],
            'full2': ['full2-31','full2-33','full2-34','full2-35'],
            'benign': ['benign-21','benign-22','benign-23','benign-24','benign-31']}
    for name, runs in sets.items():
        runs = [r for r in runs if os.path.isdir(f'{base}/{r}')]
        agg = collections.OrderedDict()
        false_total = 0; alerts_total = 0
        for r in runs:
            out, false, n = run(f'{base}/{r}', f'/work/lab-runs/{r}')
            false_total += len(false); alerts_total += n
            rep = {}
            for line in open(f'{base}/{r}/report.txt'):
                m = re.match(r'\s+(\S+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)%', line)
                if m: rep[m.group(1)] = (float(m.group(4)), float(m.group(5)))
            for lab, pos, dl, over, hit in out:
                a = agg.setdefault(lab, dict(runs=0, dlruns=0, dl=0, over=0, worst=1.0, covered=0, auc=1.0, tpr=100.0))
                a['runs'] += 1
                if dl:
                    a['dlruns'] += 1; a['dl'] += dl; a['over'] += over; a['worst'] = min(a['worst'], over/dl)
                a['covered'] += hit > 0
                if lab in rep:
                    a['auc'] = min(a['auc'], rep[lab][0]); a['tpr'] = min(a['tpr'], rep[lab][1])
        print(f'### {name}: {len(runs)} runs, behaviour alerts {alerts_total}, unmatched {false_total}')
        print('| attack | runs with packets in learning | packets in learning | flagged (all runs) | flagged (worst run) | runs with an alert | AUC (worst) | TPR@0.1% (worst) |')
        print('|---|---|---|---|---|---|---|---|')
        for lab, a in agg.items():
            fl = f"{100*a['over']/a['dl']:.1f} %" if a['dl'] else '—'
            w = f"{100*a['worst']:.1f} %" if a['dl'] else '—'
            print(f"| {lab} | {a['dlruns']}/{a['runs']} | {a['dl']} | {fl} | {w} | {a['covered']}/{a['runs']} | {a['auc']:.4f} | {a['tpr']:.1f} % |")


if __name__ == '__main__':
    main()
