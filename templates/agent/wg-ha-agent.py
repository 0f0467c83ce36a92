#!/usr/bin/env python3
# wg-ha-agent: health, metrics and drain agent of one wg-ha server (Python 3.7+ stdlib only).
# Settings, shared store and local state: templates/CONTRACT.md. Operator guide: templates/agent/README.md.
#
#   GET|HEAD /health   200 when every check passes, else 503; JSON names each check (NLB target health)
#   GET /metrics       Prometheus text, names compatible with MindFlavor/prometheus_wireguard_exporter
#   GET /drain         {"draining": bool, "reason": ...}
#   POST /drain        sets the drain flag ($WG_HA_LOCAL_DIR/draining; body = optional reason)
#   DELETE /drain      removes it (409 while the instance is leaving its Auto Scaling group)
#   Requests from the VPN client pools (WG_HA_CLIENT_CIDR, WG_HA_CLIENT_CIDR6) get 403: a client
#   reaches this port through the tunnel, where no security group applies. Anyone else may drain:
#   the server security group admits the agent port from the VPC only.
#
# Threads: the HTTP server (one thread per request); with WG_HA_EMF=1 (default: WG_HA_AWS) a
# publisher printing one CloudWatch EMF line per WG_HA_EMF_INTERVAL_SECONDS; with WG_HA_AWS=1 a
# lifecycle watcher polling IMDS: on "Terminated" it drains, waits WG_HA_DRAIN_SECONDS and
# completes the termination lifecycle action (CONTINUE) with a SigV4-signed Auto Scaling call.
#
# This file ships inside the gzip'd user data (EC2 limit 16 KB) with full-line comments and blank
# lines stripped (stacks/user-data.ts stripShellComments): prose lives in comments, never in
# docstrings, and no multi-line string may contain a blank or '#'-leading line.
import calendar
import fcntl
import hashlib
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROG = "wg-ha-agent"
# ---- metric tables: the one list of names (--list-metrics prints them; tests and docs read it) ----
# Prometheus: (name, type, labels, help). The first four as in prometheus_wireguard_exporter 3.x
# (latest_handshake is a UNIX time there too, despite its name; 0 = never).
PEER_LABELS = "interface,public_key,allowed_ips"
PROMETHEUS_METRICS = [
    ("wireguard_sent_bytes_total", "counter", PEER_LABELS, "Bytes sent to the peer"),
    ("wireguard_received_bytes_total", "counter", PEER_LABELS, "Bytes received from the peer"),
    ("wireguard_latest_handshake_seconds", "gauge", PEER_LABELS, "UNIX time of the latest handshake with the peer (0 = never)"),
    ("wireguard_peers_total", "gauge", "interface", "Total number of peers"),
    ("wireguard_peers", "gauge", "interface", "Peers configured on the interface"),
    ("wireguard_peers_active", "gauge", "interface", "Peers with a handshake in the last 180 s"),
    ("wg_ha_sync_age_seconds", "gauge", "", "Seconds since the last successful peer sync (since agent start if none)"),
    ("wg_ha_sync_skipped_files", "gauge", "", "Peer files the last sync skipped as invalid"),
    ("wg_ha_healthy", "gauge", "", "1 when /health answers 200"),
    ("wg_ha_draining", "gauge", "", "1 while the server is draining"),
    ("wg_ha_check_ok", "gauge", "check", "1 when this health check passes"),
]
# CloudWatch (EMF): (name, unit, statistic to use across instances). Namespace and dimension sets
# must match stacks/metrics.ts. Cost (custom metrics $0.30 per metric-month, prorated hourly; log
# ingestion $0.50/GB): each metric exists once per dimension-set value: 6 with [Environment] plus
# 6 per instance with [Environment, InstanceId]. 2 instances: 6 + 12 = 18 metrics = $5.40/month;
# 20 instances: 6 + 120 = 126 metrics = $37.80/month. A replaced instance's series stop costing
# once it stops publishing. Logs: ~0.7 KB/min/instance = ~30 MB/month = $0.015 per instance.
# PutMetricData per peer would cost a metric per peer plus $0.01 per 1,000 calls.
# Peers is the same on every server (Maximum); ActivePeers and bytes add up across servers (Sum).
EMF_NAMESPACE = "WgHa"
EMF_DIMENSIONS = [["Environment"], ["Environment", "InstanceId"]]
EMF_METRICS = [
    ("Peers", "Count", "Maximum"),
    ("ActivePeers", "Count", "Sum"),
    ("BytesReceived", "Bytes", "Sum"),
    ("BytesSent", "Bytes", "Sum"),
    ("SyncAgeSeconds", "Seconds", "Maximum"),
    ("Healthy", "Count", "Sum"),
]
CHECKS = ["interface", "public_key", "sync", "forwarding", "draining"]
# WireGuard REJECT_AFTER_TIME: a peer without a handshake for this long has no usable session.
ACTIVE_SECONDS = 180
SIOCGIFFLAGS = 0x8913
DEFAULTS = {
    "WG_HA_ENVIRONMENT": "wg-ha", "WG_INTERFACE": "wg0", "WG_HA_STATE_DIR": "/mnt/wg-ha",
    "WG_HA_LOCAL_DIR": "/var/lib/wg-ha", "WG_HA_SYNC_STALE_SECONDS": "30",
    "WG_HA_AGENT_ADDRESS": "0.0.0.0", "WG_HA_AGENT_PORT": "8080", "WG_HA_DRAIN_SECONDS": "30",
    "WG_HA_AWS": "0", "WG_HA_IMDS_URL": "http://169.254.169.254", "WG_HA_REGION": "",
    "WG_HA_ASG_NAME": "", "WG_HA_LIFECYCLE_HOOK": "", "WG_HA_CLIENT_CIDR": "", "WG_HA_CLIENT_CIDR6": "",
    "WG_HA_EMF": "", "WG_HA_EMF_INTERVAL_SECONDS": "60", "WG_HA_EMF_FILE": "",
    "WG_HA_LIFECYCLE_POLL_SECONDS": "5", "WG_HA_AUTOSCALING_URL": "", "WG_HA_PROC_SYS": "/proc/sys",
}
USAGE = """Usage: wg-ha-agent.py [OPTION]
Health, metrics and drain agent of a wg-ha server. Settings: $WG_HA_CONFIG (default
/etc/wg-ha/wg-ha.env), KEY=value lines; the environment wins over the file.
  (none)             serve HTTP on WG_HA_AGENT_ADDRESS:WG_HA_AGENT_PORT (the systemd service)
  --check            print the health JSON once; exit 0 when healthy, 1 if not
  --emf-once         print one CloudWatch EMF line (byte counts since the interface started)
  --list-metrics     print the metric tables (--list-metrics --json: as JSON)
  --sigv4-selftest   check the SigV4 signer against AWS's published test vectors
  --help             this text
Endpoints: GET|HEAD /health, GET /metrics, GET|POST|DELETE /drain."""


class Problem(Exception):
    pass


def log(msg):
    # One line per event; journald stamps its own time. Never pass secrets here.
    stamp = "" if os.environ.get("JOURNAL_STREAM") else time.strftime("%Y-%m-%dT%H:%M:%S ")
    sys.stderr.write("%s%s: %s\n" % (stamp, PROG, msg.replace("\n", " ")))
    sys.stderr.flush()


# ---- settings ----
def load_settings(environ):
    path = environ.get("WG_HA_CONFIG", "/etc/wg-ha/wg-ha.env")
    raw, problems = dict(DEFAULTS), []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                m = re.match(r"^(WG_[A-Z0-9_]+)=(.*)$", line)
                if m:
                    raw[m.group(1)] = m.group(2)
                else:
                    problems.append("%s:%d: not a WG_*=value line" % (path, n))
    except OSError as e:
        problems.append("settings file %s is missing or unreadable (set WG_HA_CONFIG): %s" % (path, e.strerror))
    raw.update({k: v for k, v in environ.items() if k.startswith("WG_")})
    s = Settings(raw, problems)
    if s.problems:
        raise Problem("; ".join(s.problems))
    return s


class Settings:
    def __init__(self, raw, problems):
        self.raw, self.problems = raw, problems
        g = raw.get
        self.env, self.iface = g("WG_HA_ENVIRONMENT") or "wg-ha", g("WG_INTERFACE")
        self.state, self.local = g("WG_HA_STATE_DIR"), g("WG_HA_LOCAL_DIR")
        self.address, self.imds_url = g("WG_HA_AGENT_ADDRESS"), g("WG_HA_IMDS_URL").rstrip("/")
        self.region, self.asg, self.hook = g("WG_HA_REGION"), g("WG_HA_ASG_NAME"), g("WG_HA_LIFECYCLE_HOOK")
        self.emf_file, self.autoscaling_url = g("WG_HA_EMF_FILE"), g("WG_HA_AUTOSCALING_URL")
        self.proc_sys = g("WG_HA_PROC_SYS")
        self.aws = self.flag("WG_HA_AWS", g("WG_HA_AWS"))
        self.emf = self.flag("WG_HA_EMF", g("WG_HA_EMF") or g("WG_HA_AWS"))
        self.port = int(self.number("WG_HA_AGENT_PORT", 0, 65535, whole=True))
        self.stale = self.number("WG_HA_SYNC_STALE_SECONDS", 1)
        self.drain = self.number("WG_HA_DRAIN_SECONDS", 0)
        self.emf_interval = self.number("WG_HA_EMF_INTERVAL_SECONDS", 0.1)
        self.poll = self.number("WG_HA_LIFECYCLE_POLL_SECONDS", 0.1)
        if not re.match(r"^[A-Za-z0-9_.=+-]{1,15}$", self.iface or ""):
            problems.append("WG_INTERFACE '%s' is not a valid interface name" % self.iface)
        self.pools = []
        for key in ("WG_HA_CLIENT_CIDR", "WG_HA_CLIENT_CIDR6"):
            try:
                self.pools += [ipaddress.ip_network(g(key), strict=False)] if g(key) else []
            except ValueError:
                problems.append("%s '%s' is not a CIDR" % (key, g(key)))
        if self.aws:
            for key in ("WG_HA_ASG_NAME", "WG_HA_LIFECYCLE_HOOK"):
                if not g(key):
                    problems.append("%s must be set when WG_HA_AWS=1 (lifecycle completion)" % key)

    def flag(self, key, v):
        if v not in ("0", "1"):
            self.problems.append("%s '%s' must be 0 or 1" % (key, v))
        return v == "1"

    def number(self, key, low, high=1e9, whole=False):
        v = self.raw.get(key, "")
        try:
            n = float(v)
            if low <= n <= high and (not whole or n == int(n)):
                return n
        except ValueError:
            pass
        self.problems.append("%s '%s' must be a%s number from %g to %g" % (key, v, " whole" if whole else "", low, high))
        return low


# ---- probes ----
def interface_up(name):
    # SIOCGIFFLAGS works in the caller's network namespace and needs no privilege or /sys.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            res = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("16s24x", name.encode()))
    except OSError as e:
        return False, "%s: %s" % (name, e.strerror)
    flags = struct.unpack("16sH", res[:18])[1]
    return bool(flags & 1), "%s is %s" % (name, "up" if flags & 1 else "down")


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, ValueError):
        return None


class WireGuard:
    # `wg show IFACE public-key` for /health, at most once per second whatever the probe rate
    # (concurrent probes wait for the one call); `dump` once per scrape or EMF line, which also
    # refreshes that cache. The dump's first line holds the private key: read, never kept.
    def __init__(self, iface):
        self.iface, self.lock, self.key = iface, threading.Lock(), None

    def run(self, what):
        try:
            r = subprocess.run(["wg", "show", self.iface, what], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=5, universal_newlines=True)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, "wg show %s: %s" % (what, e)
        if r.returncode:
            return False, "wg show %s: %s" % (what, (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1])
        return True, r.stdout

    def public_key(self):
        with self.lock:
            if not self.key or time.monotonic() - self.key[0] > 1:
                ok, out = self.run("public-key")
                self.key = (time.monotonic(), ok, out.strip())
            return self.key[1:]

    def dump(self):
        ok, out = self.run("dump")
        peers, pub = [], out.strip()
        if ok:
            lines = out.splitlines()
            fields = lines[0].split("\t") if lines else []
            if len(fields) < 4:
                ok, pub = False, "wg show dump: unexpected output"
            else:
                pub = fields[1]
            for line in lines[1:]:
                f = line.split("\t")
                if len(f) >= 8 and f[4].isdigit() and f[5].isdigit() and f[6].isdigit():
                    peers.append({"public_key": f[0], "allowed_ips": f[3], "handshake": int(f[4]),
                                  "rx": int(f[5]), "tx": int(f[6])})
        with self.lock:
            self.key = (time.monotonic(), ok, pub)
        return ok, peers, pub


class StoreKey:
    # The cluster public key on EFS, re-read every 10 s. A hung NFS mount must not hang /health:
    # the read runs in its own thread and only the very first read is waited for (0.5 s at most);
    # after that the last key read is used (a cluster's key never changes), and without one the
    # caller falls back to the public_key the sync loop recorded in sync-status.json.
    def __init__(self, path):
        self.path, self.value, self.tried, self.thread, self.lock = path, None, -1e9, None, threading.Lock()

    def read(self):
        self.value = (read_text(self.path) or "").strip() or self.value

    def get(self):
        with self.lock:
            if time.monotonic() - self.tried > 10 and not (self.thread and self.thread.is_alive()):
                self.tried, t = time.monotonic(), threading.Thread(target=self.read, daemon=True)
                t.start()
                self.thread = t
            t = self.thread
        if self.value is None:
            t.join(0.5)
        return self.value


class Agent:
    def __init__(self, s):
        self.s, self.wg, self.started = s, WireGuard(s.iface), time.time()
        self.store_key = StoreKey(os.path.join(s.state, "server", "public.key"))
        self.flag = os.path.join(s.local, "draining")
        self.leaving, self.last_failing, self.imds = False, None, Imds(s.imds_url)
        self.instance = None

    def sync_status(self):
        try:
            v = json.loads(read_text(os.path.join(self.s.local, "sync-status.json")) or "null")
            return v if isinstance(v, dict) else {}
        except ValueError:
            return {}

    def sync_age(self, status, now):
        last = status.get("last_success")
        return max(0.0, now - (last if type(last) in (int, float) else self.started))

    def health(self, now=None):
        now, s, checks = now or time.time(), self.s, {}
        status = self.sync_status()
        up, detail = interface_up(s.iface)
        checks["interface"] = (up, detail)
        ok, key = self.wg.public_key()
        cluster = self.store_key.get()
        where = "the store" if cluster else "sync-status.json"
        cluster = cluster or status.get("public_key")
        if not ok:
            checks["public_key"] = (False, key)
        elif not cluster:
            checks["public_key"] = (False, "cluster public key unknown (store unreadable, no sync-status.json)")
        else:
            checks["public_key"] = (key == cluster, "%s %s the cluster key (%s, from %s)" % (key, "is" if key == cluster else "is not", cluster, where))
        age = self.sync_age(status, now)
        src = status.get("source", "?")
        if type(status.get("last_success")) not in (int, float):
            checks["sync"] = (False, "no successful sync recorded in sync-status.json")
        else:
            checks["sync"] = (age <= s.stale, "last success %.0f s ago from %s (limit %g s)" % (age, src, s.stale))
        fwd = (read_text(os.path.join(s.proc_sys, "net/ipv4/ip_forward")) or "?").strip()
        checks["forwarding"] = (fwd == "1", "net.ipv4.ip_forward = %s" % fwd)
        reason = read_text(self.flag)
        if self.leaving:
            checks["draining"] = (False, "leaving the Auto Scaling group (lifecycle Terminated)")
        else:
            checks["draining"] = (reason is None, "not draining" if reason is None else "draining: %s" % reason.strip())
        failing = [c for c in CHECKS if not checks[c][0]]
        if failing != self.last_failing:
            log("health: %s" % ("ok" if not failing else "503, failing: " + "; ".join("%s (%s)" % (c, checks[c][1]) for c in failing)))
            self.last_failing = failing
        return {"ok": not failing, "failing": failing, "interface": s.iface, "time": round(now, 3),
                "checks": {c: {"ok": checks[c][0], "detail": checks[c][1]} for c in CHECKS}}

    def sample(self):
        ok, peers, _ = self.wg.dump()
        now = time.time()
        return {"ok": ok, "peers": peers, "now": now, "health": self.health(now), "status": self.sync_status(),
                "active": sum(1 for p in peers if p["handshake"] and now - p["handshake"] <= ACTIVE_SECONDS)}

    def metrics(self):
        x = self.sample()
        values = {
            "wg_ha_sync_age_seconds": [("", self.sync_age(x["status"], x["now"]))],
            "wg_ha_sync_skipped_files": [("", len(x["status"].get("skipped") or []))],
            "wg_ha_healthy": [("", int(x["health"]["ok"]))],
            "wg_ha_draining": [("", int(not x["health"]["checks"]["draining"]["ok"]))],
            "wg_ha_check_ok": [(labels(check=c), int(x["health"]["checks"][c]["ok"])) for c in CHECKS],
        }
        if x["ok"]:
            iface = labels(interface=self.s.iface)
            values.update({"wireguard_peers_total": [(iface, len(x["peers"]))], "wireguard_peers": [(iface, len(x["peers"]))],
                           "wireguard_peers_active": [(iface, x["active"])]})
            for name, field in (("wireguard_sent_bytes_total", "tx"), ("wireguard_received_bytes_total", "rx"),
                                ("wireguard_latest_handshake_seconds", "handshake")):
                values[name] = [(labels(interface=self.s.iface, public_key=p["public_key"], allowed_ips=p["allowed_ips"]), p[field])
                                for p in x["peers"]]
        out = []
        for name, kind, _, text in PROMETHEUS_METRICS:
            out += ["# HELP %s %s" % (name, text), "# TYPE %s %s" % (name, kind)]
            out += ["%s%s %s" % (name, lab, fmt(v)) for lab, v in values.get(name, [])]
        return "\n".join(out) + "\n"

    def instance_id(self):
        if not self.instance and self.s.aws:
            try:
                self.instance = self.imds.get("instance-id")
            except Problem as e:
                log("instance id from IMDS: %s; using the hostname for now" % e)
        return self.instance or socket.gethostname()

    def emf(self, previous):
        # One EMF document; byte counts are deltas against `previous` ({public_key: (rx, tx)}),
        # a counter that went down (peer re-added, interface re-created) counts from zero.
        x, rx, tx, seen = self.sample(), 0, 0, {}
        for p in x["peers"]:
            prx, ptx = previous.get(p["public_key"], (0, 0))
            rx += p["rx"] - prx if p["rx"] >= prx else p["rx"]
            tx += p["tx"] - ptx if p["tx"] >= ptx else p["tx"]
            seen[p["public_key"]] = (p["rx"], p["tx"])
        doc = {"_aws": {"Timestamp": int(x["now"] * 1000), "CloudWatchMetrics": [{
            "Namespace": EMF_NAMESPACE, "Dimensions": EMF_DIMENSIONS,
            "Metrics": [{"Name": n, "Unit": u} for n, u, _ in EMF_METRICS]}]},
            "Environment": self.s.env, "InstanceId": self.instance_id(), "Interface": self.s.iface,
            "Peers": len(x["peers"]), "ActivePeers": x["active"], "BytesReceived": rx, "BytesSent": tx,
            "SyncAgeSeconds": round(self.sync_age(x["status"], x["now"]), 1), "Healthy": int(x["health"]["ok"]),
            "Failing": x["health"]["failing"]}
        return json.dumps(doc, separators=(",", ":")), seen

    def publish(self, line):
        if not self.s.emf_file:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
            return
        try:
            if os.path.exists(self.s.emf_file) and os.path.getsize(self.s.emf_file) > 5 << 20:
                os.replace(self.s.emf_file, self.s.emf_file + ".1")
            with open(self.s.emf_file, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as e:
            log("cannot write %s: %s" % (self.s.emf_file, e))

    def emf_loop(self):
        previous = {p["public_key"]: (p["rx"], p["tx"]) for p in self.wg.dump()[1]}
        due = time.monotonic()
        while True:
            due += self.s.emf_interval
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                line, previous = self.emf(previous)
                self.publish(line)
            except Exception as e:
                log("EMF: %s" % e)

    def set_drain(self, reason):
        tmp = "%s.%d.tmp" % (self.flag, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(reason + "\n")
        os.replace(tmp, self.flag)
        log("drain on: %s" % reason)

    # ---- lifecycle: Terminating:Wait -> drain -> CompleteLifecycleAction ----
    def lifecycle_loop(self):
        last = None
        while True:
            try:
                state = self.imds.get("autoscaling/target-lifecycle-state")
            except Problem as e:
                state = "unknown (%s)" % e
            if state != last:
                log("lifecycle: target-lifecycle-state %s" % state)
                last = state
            if state == "Terminated":
                return self.leave()
            time.sleep(self.s.poll)

    def leave(self):
        self.leaving = True
        try:
            if not os.path.exists(self.flag):
                self.set_drain("lifecycle: instance leaving the Auto Scaling group")
            started = min(time.time(), os.path.getmtime(self.flag))
        except OSError as e:
            log("lifecycle: cannot write the drain flag (%s); /health is 503 anyway" % e)
            started = time.time()
        wait = max(0.0, started + self.s.drain - time.time())
        log("lifecycle: draining, CompleteLifecycleAction in %.0f s" % wait)
        time.sleep(wait)
        delay = 1
        while True:
            try:
                return self.complete()
            except Exception as e:
                log("lifecycle: CompleteLifecycleAction failed: %s; retry in %d s" % (e, delay))
            time.sleep(delay)
            delay = min(delay * 2, 60)

    def complete(self):
        creds = self.imds.credentials()
        region = self.s.region or self.imds.get("placement/region")
        url = self.s.autoscaling_url or "https://autoscaling.%s.amazonaws.com%s/" % (region, ".cn" if region.startswith("cn-") else "")
        params = {"Action": "CompleteLifecycleAction", "Version": "2011-01-01", "AutoScalingGroupName": self.s.asg,
                  "LifecycleHookName": self.s.hook, "InstanceId": self.instance_id(), "LifecycleActionResult": "CONTINUE"}
        body = urllib.parse.urlencode(sorted(params.items())).encode()
        headers = {"Host": urllib.parse.urlsplit(url).netloc, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                   "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}
        if creds.get("Token"):
            headers["X-Amz-Security-Token"] = creds["Token"]
        headers["Authorization"] = sigv4("POST", url, headers, body, creds["AccessKeyId"], creds["SecretAccessKey"], region, "autoscaling")
        what = "CompleteLifecycleAction(%s, %s, %s, CONTINUE)" % (self.s.asg, self.s.hook, params["InstanceId"])
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST"), timeout=10) as r:
                log("lifecycle: %s: HTTP %d, done" % (what, r.status))
                return True
        except urllib.error.HTTPError as e:
            text = e.read(4096).decode("utf-8", "replace")
            code = "".join(re.findall(r"<Code>([^<]*)</Code>", text)) or "HTTP %d" % e.code
            message = "".join(re.findall(r"<Message>([^<]*)</Message>", text))
            if "No active Lifecycle Action" in message:
                log("lifecycle: %s: %s: %s (completed or timed out already); done" % (what, code, message))
                return False
            if code in ("ExpiredToken", "InvalidClientTokenId"):
                self.imds.creds = None
            raise Problem("%s: %s %s" % (what, code, message))
        except (OSError, ValueError) as e:
            raise Problem("%s: %s" % (what, e))


def labels(**kv):
    esc = lambda v: str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{" + ",".join('%s="%s"' % (k, esc(v)) for k, v in kv.items()) + "}"


def fmt(v):
    return str(v) if isinstance(v, int) else "%.3f" % v


# ---- IMDSv2 (never through a proxy) ----
class Imds:
    def __init__(self, url):
        self.url, self.token, self.creds = url, (None, 0.0), None
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method, path, headers):
        try:
            with self.opener.open(urllib.request.Request(self.url + path, None, headers, method=method), timeout=2) as r:
                return r.read(65536).decode()
        except urllib.error.HTTPError as e:
            if e.code == 401:
                self.token = (None, 0.0)
            raise Problem("IMDS %s %s: HTTP %d" % (method, path, e.code))
        except (OSError, ValueError) as e:
            raise Problem("IMDS %s %s: %s" % (method, path, getattr(e, "reason", e)))

    def get(self, what):
        if time.monotonic() > self.token[1]:
            self.token = (self.call("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}),
                          time.monotonic() + 21000)
        return self.call("GET", "/latest/meta-data/" + what, {"X-aws-ec2-metadata-token": self.token[0]}).strip()

    def credentials(self):
        # The instance role's temporary keys, kept until 5 minutes before they expire.
        if not self.creds or time.time() > self.creds[0]:
            role = self.get("iam/security-credentials/").splitlines()[0]
            c = json.loads(self.get("iam/security-credentials/" + role))
            exp = calendar.timegm(time.strptime(c["Expiration"][:19], "%Y-%m-%dT%H:%M:%S"))
            self.creds = (min(exp - 300, time.time() + 3600), c)
        return self.creds[1]


# ---- AWS Signature Version 4 (header form), checked by --sigv4-selftest ----
def sigv4(method, url, headers, body, key_id, secret, region, service):
    u = urllib.parse.urlsplit(url)
    q = lambda v: urllib.parse.quote(v, safe="-_.~")
    query = "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(urllib.parse.parse_qsl(u.query, True)))
    h = sorted((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
    signed = ";".join(k for k, _ in h)
    amz_date = dict(h)["x-amz-date"]
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    canonical = "\n".join([method, urllib.parse.quote(u.path or "/", safe="/-_.~"), query,
                           "".join("%s:%s\n" % kv for kv in h), signed, hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (key_id, scope, signed, sig)


# AWS SigV4 test suite (docs: signature-v4-test-suite): request, headers, body, signature.
SIGV4_VECTORS = [
    ("get-vanilla", "GET", "https://example.amazonaws.com/", {}, b"",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {}, b"",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/",
     {"Content-Type": "application/x-www-form-urlencoded"}, b"Param1=value1",
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
]


def sigv4_selftest():
    failed = 0
    for name, method, url, extra, body, want in SIGV4_VECTORS:
        headers = dict(extra, Host="example.amazonaws.com", **{"X-Amz-Date": "20150830T123600Z"})
        got = sigv4(method, url, headers, body, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service")
        ok = got.endswith("Signature=" + want)
        failed += not ok
        print("%s %s: %s" % ("ok  " if ok else "FAIL", name, got))
    return 1 if failed else 0


# ---- HTTP ----
class Handler(BaseHTTPRequestHandler):
    server_version, sys_version, timeout = PROG, "", 10
    agent = None

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/json"):
        data = (json.dumps(body, indent=1) + "\n" if ctype == "application/json" else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        if code == 405:
            self.send_header("Allow", body["allow"])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route(self):
        a, path = self.agent, urllib.parse.urlsplit(self.path).path
        ip = ipaddress.ip_address(self.client_address[0].split("%")[0])
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if any(ip in net for net in a.s.pools):
            return self.reply(403, {"error": "not from the VPN client pool"})
        allow = {"/health": "GET, HEAD", "/metrics": "GET, HEAD", "/drain": "GET, HEAD, POST, DELETE"}.get(path)
        if not allow:
            return self.reply(404, {"error": "not found", "paths": ["/health", "/metrics", "/drain"]})
        if self.command not in allow:
            return self.reply(405, {"error": "method not allowed", "allow": allow})
        if path == "/health":
            h = a.health()
            return self.reply(200 if h["ok"] else 503, h)
        if path == "/metrics":
            return self.reply(200, a.metrics(), "text/plain; version=0.0.4")
        try:
            if self.command == "POST":
                n = min(int(self.headers.get("Content-Length") or 0), 1024)
                text = self.rfile.read(n).decode("utf-8", "replace") if n else ""
                text = re.sub(r"[^ -~]", " ", text).strip()[:200]
                a.set_drain("%s (POST /drain from %s)" % (text or "drained by an operator", ip))
            elif self.command == "DELETE":
                if a.leaving:
                    return self.reply(409, {"error": "leaving the Auto Scaling group: the drain cannot be undone"})
                if os.path.exists(a.flag):
                    os.remove(a.flag)
                    log("drain off (DELETE /drain from %s)" % ip)
        except (OSError, ValueError) as e:
            return self.reply(500, {"error": str(e)})
        reason = read_text(a.flag)
        self.reply(200, {"draining": a.leaving or reason is not None, "reason": reason and reason.strip()})

    def handle(self):
        try:
            BaseHTTPRequestHandler.handle(self)
        except Exception as e:
            log("HTTP %s %s: %r" % (getattr(self, "command", "?"), getattr(self, "path", "?"), e))
            try:
                self.reply(500, {"error": "internal error"})
            except Exception:
                pass

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = route


def serve(agent):
    s = agent.s
    cls = ThreadingHTTPServer
    if ":" in s.address:
        cls = type("Server6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    Handler.agent = agent
    server = cls((s.address, s.port), Handler)
    log("listening on %s:%d (interface %s, store %s, local %s, aws %d, emf %d)"
        % (s.address, server.server_address[1], s.iface, s.state, s.local, s.aws, s.emf))
    if s.emf:
        threading.Thread(target=agent.emf_loop, daemon=True).start()
    if s.aws:
        threading.Thread(target=agent.lifecycle_loop, daemon=True).start()
    try:
        server.serve_forever()
    finally:
        server.server_close()


def main(argv):
    arg = argv[1] if len(argv) > 1 else ""
    if arg in ("-h", "--help"):
        print(USAGE)
        return 0
    if arg == "--list-metrics":
        if argv[2:] == ["--json"]:
            print(json.dumps({"prometheus": [dict(zip(("name", "type", "labels", "help"), m)) for m in PROMETHEUS_METRICS],
                              "cloudwatch": {"namespace": EMF_NAMESPACE, "dimensions": EMF_DIMENSIONS,
                                             "metrics": [dict(zip(("name", "unit", "statistic"), m)) for m in EMF_METRICS]}}, indent=1))
        else:
            for name, kind, lab, text in PROMETHEUS_METRICS:
                print("%s\t%s\t{%s}\t%s" % (name, kind, lab, text))
            for name, unit, stat in EMF_METRICS:
                print("%s/%s\t%s\t%s\tCloudWatch EMF, statistic %s" % (EMF_NAMESPACE, name, unit, "|".join(",".join(d) for d in EMF_DIMENSIONS), stat))
        return 0
    if arg == "--sigv4-selftest":
        return sigv4_selftest()
    if arg not in ("", "--check", "--emf-once") or len(argv) > 2:
        sys.stderr.write("%s: unknown arguments: %s\n%s\n" % (PROG, " ".join(argv[1:]), USAGE))
        return 2
    try:
        agent = Agent(load_settings(os.environ))
    except Problem as e:
        log("error: %s" % e)
        return 1
    if arg == "--check":
        h = agent.health()
        print(json.dumps(h, indent=1))
        return 0 if h["ok"] else 1
    if arg == "--emf-once":
        agent.publish(agent.emf({})[0])
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(agent)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (agent.s.address, agent.s.port, e.strerror or e))
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
