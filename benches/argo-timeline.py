#!/usr/bin/env python3
"""Prints the timelines of one benches/argo-timeline.sh round (issue 14).

Per Application, from Argo CD's own fields as the watch saw them: created,
first reconcile (status.reconciledAt), each sync operation's startedAt, the
last finishedAt, first Synced, first Synced+Healthy, and the application-
controller log's "Refreshing app status (REASON)" that preceded its turning
Healthy. Then how far Argo CD's cluster cache ran behind the API server on
CRDs: the API server's last Established (our watch) against the controller's
"Updating Kubernetes APIs ... due to CRD event" lines (one per CRD event, each
a full discovery and OpenAPI reload).

usage: argo-timeline.py DIR
"""
import json
import re
import sys

d = sys.argv[1]
apps = {}
for line in open(f"{d}/apps-watch.txt"):
    ts, _, j = line.rstrip("\n").partition(" ")
    try:
        name, sync, health, _op, rec, started, finished, _res = json.loads(j)
    except (ValueError, TypeError):
        continue
    a = apps.setdefault(name, {"seen": ts[:8], "rec": None, "ops": set(), "fin": None, "synced": None, "ready": None})
    if rec and not a["rec"]:
        a["rec"] = rec[11:19]
    if started:
        a["ops"].add(started[11:19])
    if finished:
        a["fin"] = finished[11:19]
    if sync == "Synced" and not a["synced"]:
        a["synced"] = ts[:8]
    if sync == "Synced" and health == "Healthy" and not a["ready"]:
        a["ready"] = ts[:8]

log = open(f"{d}/application-controller.log").read().splitlines()
stamp = lambda l: l[17:25]  # time="YYYY-MM-DDTHH:MM:SSZ"
for name, a in apps.items():
    why, last = "", None
    for l in log:
        if not re.search(rf"application={re.escape(name)}( |$)", l):
            continue
        m = re.search(r'msg="Refreshing app status \(([^)]*)\)', l)
        if m:
            last = (stamp(l), m.group(1).split(",")[0][:50])
        if "Updated health status:" in l and l.split('msg="')[1].split('"')[0].endswith("-> Healthy"):
            if a["ready"] and stamp(l) >= a["ready"] and last:
                why = f'Healthy {stamp(l)} after refresh "{last[1]}" at {last[0]}'
                break
    print(
        f"{name:17} created {a['seen']}  reconciled {a['rec']}  ops {','.join(sorted(a['ops'])) or '-'}"
        f"  finished {a['fin']}  Synced {a['synced']}  Synced+Healthy {a['ready']}  {why}"
    )

established = [l[:12] for l in open(f"{d}/crd-watch.txt") if '"True"' in l]
events = [stamp(l) for l in log if "Updating Kubernetes APIs, watches, and Open API schemas due to CRD event" in l]
if events:
    print(
        f"CRD events Argo CD's cache processed: {len(events)}, {events[0]} .. {events[-1]}; "
        f"API server's last CRD change with Established=True: {max(established) if established else '-'}"
    )
