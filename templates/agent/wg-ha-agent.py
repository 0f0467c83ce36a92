#!/usr/bin/env python3
# wg-ha-agent: health, metrics and drain agent of a wg-ha server (Python 3.7+, stdlib only).
# How it works, API, settings: templates/agent/README.md. Files: templates/CONTRACT.md.
# Ships inside the user data (EC2 limit 16 KB gzip'd): keep it small, prose goes in the README.
import calendar
import hashlib
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from fcntl import ioctl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

# The metric tables (--list-metrics). The first four as prometheus_wireguard_exporter 3.x.
L3 = "interface,public_key,allowed_ips"
PROM = [
    ("wireguard_sent_bytes_total", "counter", L3, "Bytes sent to the peer"),
    ("wireguard_received_bytes_total", "counter", L3, "Bytes received from the peer"),
    ("wireguard_latest_handshake_seconds", "gauge", L3, "UNIX time of the latest handshake (0 = never)"),
    ("wireguard_peers_total", "gauge", "interface", "Total number of peers"),
    ("wireguard_peers", "gauge", "interface", "Peers configured"),
    ("wireguard_peers_active", "gauge", "interface", "Peers with a handshake in the last 180 s"),
    ("wg_ha_sync_age_seconds", "gauge", "", "Seconds since the last good sync (or agent start)"),
    ("wg_ha_sync_skipped_files", "gauge", "", "Peer files the last sync skipped"),
    ("wg_ha_healthy", "gauge", "", "1 when /health answers 200"),
    ("wg_ha_draining", "gauge", "", "1 while draining"),
    ("wg_ha_check_ok", "gauge", "check", "1 when the health check passes"),
]
# CloudWatch EMF (name, unit, statistic across servers). Each metric exists once per dimension
# set value: 6 for the environment + 6 per instance, at $0.30 per metric-month (prorated hourly):
# 2 instances 18 metrics = $5.40/month, 20 instances 126 = $37.80/month; logs ~30 MB/month/instance.
NS, DIMS = "WgHa", [["Environment"], ["Environment", "InstanceId"]]
CW = [("Peers", "Count", "Maximum"), ("ActivePeers", "Count", "Sum"), ("BytesReceived", "Bytes", "Sum"),
      ("BytesSent", "Bytes", "Sum"), ("SyncAgeSeconds", "Seconds", "Maximum"), ("Healthy", "Count", "Sum")]
CHECKS = ["interface", "public_key", "sync", "forwarding", "draining"]
DEFAULTS = dict(x.split("=") for x in """WG_HA_ENVIRONMENT=wg-ha WG_INTERFACE=wg0 WG_HA_STATE_DIR=/mnt/wg-ha
WG_HA_LOCAL_DIR=/var/lib/wg-ha WG_HA_SYNC_STALE_SECONDS=30 WG_HA_AGENT_ADDRESS=0.0.0.0 WG_HA_AGENT_PORT=8080
WG_HA_DRAIN_SECONDS=30 WG_HA_AWS=0 WG_HA_IMDS_URL=http://169.254.169.254 WG_HA_EMF_INTERVAL_SECONDS=60
WG_HA_LIFECYCLE_POLL_SECONDS=5 WG_HA_PROC_SYS=/proc/sys""".split())
USAGE = """Usage: wg-ha-agent.py [--check | --emf-once | --list-metrics | --help]
Serves GET|HEAD /health, GET /metrics, GET|POST|DELETE /drain on WG_HA_AGENT_ADDRESS:WG_HA_AGENT_PORT.
  --check         print the health JSON; exit 0 if healthy, else 1
  --emf-once      print one CloudWatch EMF line (bytes since the interface started)
  --list-metrics  print the metric names as JSON
Settings: $WG_HA_CONFIG (default /etc/wg-ha/wg-ha.env); the environment wins."""
A = SimpleNamespace(key=(-9, 0, ""), cluster=None, tried=-99, reader=None, leaving=False, failing=None,
                    started=time.time(), instance=None, creds=None, token=(None, 0))
LOCK = threading.Lock()
NOPROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Problem(Exception):
    pass


def log(msg):
    stamp = "" if os.environ.get("JOURNAL_STREAM") else time.strftime("%Y-%m-%dT%H:%M:%S ")
    sys.stderr.write(stamp + "wg-ha-agent: " + msg.replace("\n", " ") + "\n")
    sys.stderr.flush()


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, ValueError):
        return None


def settings(env):
    path, raw, bad = env.get("WG_HA_CONFIG", "/etc/wg-ha/wg-ha.env"), dict(DEFAULTS), []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = re.match(r"(WG_[A-Z0-9_]+)=(.*)", line.rstrip("\r\n"))
                if m:
                    raw[m.group(1)] = m.group(2)
                elif line.strip() and line.lstrip()[0] != "#":
                    bad.append("%s:%d: not a WG_*=value line" % (path, n))
    except OSError as e:
        bad.append("settings file %s is missing or unreadable (set WG_HA_CONFIG): %s" % (path, e.strerror))
    raw.update((k, v) for k, v in env.items() if k[:3] == "WG_")
    g = lambda k: raw.get(k) or ""
    raw["WG_HA_EMF"] = g("WG_HA_EMF") or g("WG_HA_AWS")
    s = SimpleNamespace(env=g("WG_HA_ENVIRONMENT"), iface=g("WG_INTERFACE"), state=g("WG_HA_STATE_DIR"), local=g("WG_HA_LOCAL_DIR"),
                        address=g("WG_HA_AGENT_ADDRESS"), imds=g("WG_HA_IMDS_URL").rstrip("/"), region=g("WG_HA_REGION"),
                        asg=g("WG_HA_ASG_NAME"), hook=g("WG_HA_LIFECYCLE_HOOK"), emf_file=g("WG_HA_EMF_FILE"),
                        autoscaling=g("WG_HA_AUTOSCALING_URL"), proc=g("WG_HA_PROC_SYS"), pools=[])
    for a, k, low, high in (("port", "AGENT_PORT", 0, 65535), ("stale", "SYNC_STALE_SECONDS", 1, 1e9), ("drain", "DRAIN_SECONDS", 0, 1e9),
                            ("interval", "EMF_INTERVAL_SECONDS", .1, 1e9), ("poll", "LIFECYCLE_POLL_SECONDS", .1, 1e9), ("aws", "AWS", 0, 1), ("emf", "EMF", 0, 1)):
        v, k = g("WG_HA_" + k), "WG_HA_" + k
        ok = re.match(r"\d+$" if a in ("port", "aws", "emf") else r"\d+(\.\d+)?$", v) and low <= float(v) <= high
        setattr(s, a, float(v) if ok else bad.append("%s '%s' must be a number from %g to %g" % (k, v, low, high)))
    if not re.match(r"[A-Za-z0-9_.=+-]{1,15}$", s.iface):
        bad.append("WG_INTERFACE '%s' is not a valid interface name" % s.iface)
    for k in ("WG_HA_CLIENT_CIDR", "WG_HA_CLIENT_CIDR6"):
        try:
            s.pools += [ipaddress.ip_network(g(k), False)] if g(k) else []
        except ValueError:
            bad.append("%s '%s' is not a CIDR" % (k, g(k)))
    for k in ("WG_HA_ASG_NAME", "WG_HA_LIFECYCLE_HOOK"):
        if s.aws and not g(k):
            bad.append("%s must be set when WG_HA_AWS=1" % k)
    if bad:
        raise Problem("; ".join(bad))
    s.port, s.flag = int(s.port), os.path.join(s.local, "draining")
    return s


def iface_up():
    # SIOCGIFFLAGS: works in this network namespace, unprivileged.
    try:
        with socket.socket() as sk:
            up = int.from_bytes(ioctl(sk, 0x8913, S.iface.encode().ljust(40, b"\0"))[16:18], sys.byteorder) & 1
    except OSError as e:
        return False, "%s: %s" % (S.iface, e.strerror)
    return bool(up), "%s is %s" % (S.iface, "up" if up else "down")


def wg(what):
    try:
        r = subprocess.run(["wg", "show", S.iface, what], stdout=-1, stderr=-1, timeout=5, universal_newlines=True)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "wg show %s: %s" % (what, e)
    return (True, r.stdout) if not r.returncode else (False, "wg show %s: %s" % (what, r.stderr.strip().split("\n")[-1] or "exit %d" % r.returncode))


def wg_key():
    # At most one `wg show IFACE public-key` per second, whatever the probe rate.
    with LOCK:
        if time.monotonic() - A.key[0] > 1:
            ok, out = wg("public-key")
            A.key = (time.monotonic(), ok, out.strip())
        return A.key[1:]


def dump():
    # Peers (public key, allowed IPs, handshake, rx, tx). Line 1 holds the private key: dropped.
    ok, out = wg("dump")
    lines = out.split("\n") if ok else []
    head = lines[0].split("\t") if lines else []
    if ok and len(head) < 4:
        ok, out = False, "wg show dump: unexpected output"
    peers = [(f[0], f[3], int(f[4]), int(f[5]), int(f[6])) for f in (x.split("\t") for x in lines[1:])
             if len(f) > 7 and all(v.isdigit() for v in f[4:7])]
    with LOCK:
        A.key = (time.monotonic(), ok, head[1] if ok else out.strip())
    return ok, peers


def read_store():
    A.cluster = (read(os.path.join(S.state, "server/public.key")) or "").strip() or A.cluster


def cluster_key():
    # Re-read every 10 s in a thread: a hung EFS mount must not hang /health. Only the first
    # read is waited for (0.5 s); then the last key read is used (it never changes).
    with LOCK:
        if time.monotonic() - A.tried > 10 and not (A.reader and A.reader.is_alive()):
            A.tried, A.reader = time.monotonic(), threading.Thread(target=read_store, daemon=True)
            A.reader.start()
        t = A.reader
    if A.cluster is None:
        t.join(0.5)
    return A.cluster


def status():
    try:
        v = json.loads(read(os.path.join(S.local, "sync-status.json")) or "0")
    except ValueError:
        v = 0
    return v if isinstance(v, dict) else {}


def last_ok(st):
    v = st.get("last_success")
    return v if type(v) in (int, float) else None


def age(st, now):
    last = last_ok(st)
    return max(0.0, now - (A.started if last is None else last))


def health(now=None):
    now, st, c = now or time.time(), status(), {}
    c["interface"] = iface_up()
    ok, key = wg_key()
    ck = cluster_key()
    src = "the store" if ck else "sync-status.json"
    ck = ck or st.get("public_key")
    c["public_key"] = (False, key) if not ok else (False, "cluster public key unknown") if not ck else (
        key == ck, "%s %s the cluster key %s (from %s)" % (key, "is" if key == ck else "is not", ck, src))
    a = age(st, now)
    c["sync"] = (False, "no successful sync recorded") if last_ok(st) is None else (
        a <= S.stale, "last success %.0f s ago from %s (limit %g s)" % (a, st.get("source"), S.stale))
    f = (read(os.path.join(S.proc, "net/ipv4/ip_forward")) or "?").strip()
    c["forwarding"] = (f == "1", "net.ipv4.ip_forward = " + f)
    r = read(S.flag)
    c["draining"] = (False, "leaving the Auto Scaling group") if A.leaving else (
        r is None, "not draining" if r is None else "draining: " + r.strip())
    bad = [k for k in CHECKS if not c[k][0]]
    if bad != A.failing:
        A.failing = bad
        log("health: " + ("503, failing: " + "; ".join("%s (%s)" % (k, c[k][1]) for k in bad) if bad else "ok"))
    return {"ok": not bad, "failing": bad, "interface": S.iface, "time": round(now, 3),
            "checks": {k: {"ok": c[k][0], "detail": c[k][1]} for k in CHECKS}}


def sample():
    ok, peers = dump()
    now = time.time()
    return ok, peers, now, health(now), status(), sum(1 for p in peers if p[2] and now - p[2] <= 180)


def metrics():
    ok, peers, now, h, st, active = sample()
    i = {"interface": S.iface}
    v = {"wg_ha_sync_age_seconds": [({}, age(st, now))], "wg_ha_sync_skipped_files": [({}, len(st.get("skipped") or []))],
         "wg_ha_healthy": [({}, int(h["ok"]))], "wg_ha_draining": [({}, int(not h["checks"]["draining"]["ok"]))],
         "wg_ha_check_ok": [({"check": k}, int(h["checks"][k]["ok"])) for k in CHECKS]}
    if ok:
        v.update(wireguard_peers_total=[(i, len(peers))], wireguard_peers=[(i, len(peers))], wireguard_peers_active=[(i, active)])
        for n, x in (("sent_bytes_total", 4), ("received_bytes_total", 3), ("latest_handshake_seconds", 2)):
            v["wireguard_" + n] = [(dict(i, public_key=p[0], allowed_ips=p[1]), p[x]) for p in peers]
    out = []
    for n, t, _, text in PROM:
        out += ["# HELP %s %s" % (n, text), "# TYPE %s %s" % (n, t)]
        out += ["%s%s %s" % (n, labels(k), x if type(x) is int else "%.3f" % x) for k, x in v.get(n, [])]
    return "\n".join(out) + "\n"


def labels(d):
    esc = lambda x: str(x).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return "{%s}" % ",".join('%s="%s"' % (k, esc(x)) for k, x in d.items()) if d else ""


def emf(prev):
    # Byte counts are deltas against prev {public key: (rx, tx)}; a counter that went down counts from 0.
    ok, peers, now, h, st, active = sample()
    rx = tx = 0
    seen = {}
    for k, _, _, r, t in peers:
        pr, pt = prev.get(k, (0, 0))
        rx, tx, seen[k] = rx + (r - pr if r >= pr else r), tx + (t - pt if t >= pt else t), (r, t)
    doc = {"_aws": {"Timestamp": int(now * 1000), "CloudWatchMetrics": [
        {"Namespace": NS, "Dimensions": DIMS, "Metrics": [{"Name": n, "Unit": u} for n, u, _ in CW]}]},
        "Environment": S.env, "InstanceId": instance_id(), "Interface": S.iface, "Peers": len(peers),
        "ActivePeers": active, "BytesReceived": rx, "BytesSent": tx, "SyncAgeSeconds": round(age(st, now), 1),
        "Healthy": int(h["ok"]), "Failing": h["failing"]}
    return json.dumps(doc, separators=(",", ":")), seen


def publish(line):
    f = S.emf_file
    if not f:
        return print(line, flush=True)
    try:
        if os.path.exists(f) and os.path.getsize(f) > 5 << 20:
            os.replace(f, f + ".1")
        with open(f, "a", encoding="utf-8") as out:
            out.write(line + "\n")
    except OSError as e:
        log("cannot write %s: %s" % (f, e))


def emf_loop():
    prev, due = {p[0]: (p[3], p[4]) for p in dump()[1]}, time.monotonic()
    while True:
        due += S.interval
        time.sleep(max(0, due - time.monotonic()))
        try:
            line, prev = emf(prev)
            publish(line)
        except Exception as e:
            log("EMF: %r" % e)


def set_drain(reason):
    tmp = S.flag + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(reason + "\n")
    os.replace(tmp, S.flag)
    log("drain on: " + reason)


def imds_call(method, path, headers):
    try:
        with NOPROXY.open(urllib.request.Request(S.imds + path, None, headers, method=method), timeout=2) as r:
            return r.read(65536).decode().strip()
    except urllib.error.HTTPError as e:
        if e.code == 401:
            A.token = (None, 0)
        raise Problem("IMDS %s %s: HTTP %d" % (method, path, e.code))
    except (OSError, ValueError) as e:
        raise Problem("IMDS %s %s: %s" % (method, path, getattr(e, "reason", e)))


def imds(what):
    if time.monotonic() > A.token[1]:
        A.token = (imds_call("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"}), time.monotonic() + 21000)
    return imds_call("GET", "/latest/meta-data/" + what, {"X-aws-ec2-metadata-token": A.token[0]})


def credentials():
    # The instance role's temporary keys, until 5 minutes before they expire.
    if not A.creds or time.time() > A.creds[0]:
        c = json.loads(imds("iam/security-credentials/" + imds("iam/security-credentials/").split()[0]))
        expires = calendar.timegm(time.strptime(c["Expiration"][:19], "%Y-%m-%dT%H:%M:%S"))
        A.creds = (min(expires - 300, time.time() + 3600), c)
    return A.creds[1]


def instance_id():
    if not A.instance and S.aws:
        try:
            A.instance = imds("instance-id")
        except Problem as e:
            log("instance id: %s; using the hostname" % e)
    return A.instance or socket.gethostname()


def lifecycle():
    # Terminating:Wait shows as "Terminated": drain (503), wait WG_HA_DRAIN_SECONDS from the flag's
    # time, then CompleteLifecycleAction (CONTINUE), retried with backoff up to 60 s.
    last = None
    while last != "Terminated":
        try:
            st = imds("autoscaling/target-lifecycle-state")
        except Problem as e:
            st = "unknown (%s)" % e
        if st != last:
            log("lifecycle: target-lifecycle-state " + st)
        if st != "Terminated":
            time.sleep(S.poll)
        last = st
    A.leaving = True
    try:
        if not os.path.exists(S.flag):
            set_drain("lifecycle: instance leaving the Auto Scaling group")
        start = min(time.time(), os.path.getmtime(S.flag))
    except OSError as e:
        log("lifecycle: drain flag: %s" % e)
        start = time.time()
    wait = max(0, start + S.drain - time.time())
    log("lifecycle: draining, CompleteLifecycleAction in %.0f s" % wait)
    time.sleep(wait)
    delay = 1
    while True:
        try:
            return complete()
        except Exception as e:
            log("lifecycle: CompleteLifecycleAction failed: %s; retry in %d s" % (e, delay))
        time.sleep(delay)
        delay = min(2 * delay, 60)


def complete():
    c, iid = credentials(), instance_id()
    region = S.region or imds("placement/region")
    url = S.autoscaling or "https://autoscaling.%s.amazonaws.com%s/" % (region, ".cn" * region.startswith("cn-"))
    body = urllib.parse.urlencode([("Action", "CompleteLifecycleAction"), ("AutoScalingGroupName", S.asg), ("InstanceId", iid),
                                   ("LifecycleActionResult", "CONTINUE"), ("LifecycleHookName", S.hook), ("Version", "2011-01-01")]).encode()
    h = {"Host": urllib.parse.urlsplit(url).netloc, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
         "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}
    if c.get("Token"):
        h["X-Amz-Security-Token"] = c["Token"]
    h["Authorization"] = sigv4("POST", url, h, body, c["AccessKeyId"], c["SecretAccessKey"], region, "autoscaling")
    what = "CompleteLifecycleAction(%s, %s, %s, CONTINUE)" % (S.asg, S.hook, iid)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, h, method="POST"), timeout=10) as r:
            log("lifecycle: %s: HTTP %d, done" % (what, r.status))
    except urllib.error.HTTPError as e:
        text = e.read(4096).decode("utf-8", "replace")
        code, msg = (" ".join(re.findall("<%s>([^<]*)<" % t, text)) for t in ("Code", "Message"))
        if "No active Lifecycle Action" in msg:
            return log("lifecycle: %s: %s: %s (completed or timed out already); done" % (what, code, msg))
        if code in ("ExpiredToken", "InvalidClientTokenId"):
            A.creds = None
        raise Problem("%s: %s %s" % (what, code or "HTTP %d" % e.code, msg))


def sigv4(method, url, headers, body, key_id, secret, region, service):
    # AWS Signature Version 4, header form; tests check it against AWS's published vectors.
    u, q = urllib.parse.urlsplit(url), lambda v: urllib.parse.quote(v, safe="-_.~")
    h = sorted((k.lower(), " ".join(v.split())) for k, v in headers.items())
    signed, date = ";".join(k for k, _ in h), dict(h)["x-amz-date"]
    scope = "%s/%s/%s/aws4_request" % (date[:8], region, service)
    canonical = "\n".join([method, urllib.parse.quote(u.path or "/", safe="/-_.~"),
                           "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(urllib.parse.parse_qsl(u.query, True))),
                           "".join("%s:%s\n" % kv for kv in h), signed, hashlib.sha256(body).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, "\n".join(["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()]).encode(),
                   hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (key_id, scope, signed, sig)


class Handler(BaseHTTPRequestHandler):
    server_version, sys_version, timeout = "wg-ha-agent", "", 10

    def log_message(self, *_):
        pass

    def send(self, code, body, ctype="application/json", allow=None):
        data = (body if isinstance(body, str) else json.dumps(body, indent=1) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route(self):
        try:
            self.serve()
        except Exception as e:
            log("HTTP %s %s: %r" % (self.command, self.path, e))
            self.send(500, {"error": "internal error"})

    def serve(self):
        path, ip = urllib.parse.urlsplit(self.path).path, ipaddress.ip_address(self.client_address[0])
        ip = getattr(ip, "ipv4_mapped", None) or ip
        # VPN clients reach this port through the tunnel, where no security group applies.
        if any(ip in n for n in S.pools):
            return self.send(403, {"error": "not from the VPN client pool"})
        allow = {"/health": "GET, HEAD", "/metrics": "GET, HEAD", "/drain": "GET, HEAD, POST, DELETE"}.get(path)
        if not allow:
            return self.send(404, {"error": "not found"})
        if self.command not in allow.split(", "):
            return self.send(405, {"error": "method not allowed"}, allow=allow)
        if path == "/health":
            h = health()
            return self.send(200 if h["ok"] else 503, h)
        if path == "/metrics":
            return self.send(200, metrics(), "text/plain; version=0.0.4")
        if self.command == "POST":
            n = min(int(self.headers.get("Content-Length") or 0), 1024)
            text = re.sub(r"[^ -~]", " ", self.rfile.read(n).decode("utf-8", "replace")).strip()[:200]
            set_drain("%s (POST /drain from %s)" % (text or "drained by an operator", ip))
        if self.command == "DELETE":
            if A.leaving:
                return self.send(409, {"error": "leaving the Auto Scaling group: the drain cannot be undone"})
            if os.path.exists(S.flag):
                os.remove(S.flag)
                log("drain off (DELETE /drain from %s)" % ip)
        r = read(S.flag)
        self.send(200, {"draining": A.leaving or r is not None, "reason": r and r.strip()})

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = route


def main(args):
    global S
    if args in (["-h"], ["--help"]):
        return print(USAGE)
    if args == ["--list-metrics"]:
        return print(json.dumps({"prometheus": [dict(zip(("name", "type", "labels", "help"), m)) for m in PROM],
                                 "cloudwatch": {"namespace": NS, "dimensions": DIMS,
                                                "metrics": [dict(zip(("name", "unit", "statistic"), m)) for m in CW]}}, indent=1))
    if args not in ([], ["--check"], ["--emf-once"]):
        sys.stderr.write("wg-ha-agent: unknown arguments: %s\n%s\n" % (" ".join(args), USAGE))
        return 2
    try:
        S = settings(os.environ)
    except Problem as e:
        log("error: %s" % e)
        return 1
    if args == ["--check"]:
        h = health()
        print(json.dumps(h, indent=1))
        return 1 - h["ok"]
    if args:
        return publish(emf({})[0])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server = ThreadingHTTPServer((S.address, S.port), Handler)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (S.address, S.port, e))
        return 1
    log("listening on %s:%d (interface %s, store %s, local %s, aws %d, emf %d)"
        % (S.address, server.server_address[1], S.iface, S.state, S.local, S.aws, S.emf))
    for on, loop in ((S.emf, emf_loop), (S.aws, lifecycle)):
        if on:
            threading.Thread(target=loop, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
