#!/usr/bin/env python3
"""wg-ha-agent: the health, metrics and drain agent of one wg-ha server.

One file, Python 3.7+ standard library only (Amazon Linux 2 ships 3.7). systemd runs it as
wg-ha-agent.service. README.md next to this file documents the HTTP API, the metrics, the
settings and what the unit must provide; ../CONTRACT.md documents the files it reads.

Threads:
  - the HTTP server, one thread per request: /health for the NLB, /metrics, /drain;
  - with WG_HA_EMF=1, the EMF publisher: one CloudWatch line every WG_HA_EMF_INTERVAL_SECONDS;
  - with WG_HA_AWS=1, the lifecycle watcher: once the Auto Scaling group terminates the
    instance, it drains the server and then completes the lifecycle action.

Sections, in order: metric tables, settings, WireGuard, shared files, health, metrics, AWS,
the agent and its HTTP API, main.

The stack may ship this file with full-line comments and blank lines removed
(stacks/user-data.ts, stripShellComments). So no triple-quoted string may hold a line that
starts with '#', and only docstrings may hold blank lines.
"""
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
from collections import namedtuple
from fcntl import ioctl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --- Metric tables ---------------------------------------------------------------------------
# The one list of metric names: --list-metrics prints it, and the tests, the README and the
# stack's dashboard read the names from there.

PrometheusMetric = namedtuple("PrometheusMetric", "name type labels help")
CloudWatchMetric = namedtuple("CloudWatchMetric", "name unit statistic")

# The first four have the names, types and labels of prometheus_wireguard_exporter 3.x, so its
# Grafana dashboards work. As there, latest_handshake_seconds is a UNIX time, not an age.
PEER_LABELS = "interface,public_key,allowed_ips"
PROMETHEUS_METRICS = [
    PrometheusMetric("wireguard_sent_bytes_total", "counter", PEER_LABELS, "Bytes sent to the peer"),
    PrometheusMetric("wireguard_received_bytes_total", "counter", PEER_LABELS, "Bytes received from the peer"),
    PrometheusMetric("wireguard_latest_handshake_seconds", "gauge", PEER_LABELS, "UNIX time of the latest handshake (0 = never)"),
    PrometheusMetric("wireguard_peers_total", "gauge", "interface", "Total number of peers"),
    PrometheusMetric("wireguard_peers", "gauge", "interface", "Peers configured"),
    PrometheusMetric("wireguard_peers_active", "gauge", "interface", "Peers with a handshake in the last 180 s"),
    PrometheusMetric("wg_ha_sync_age_seconds", "gauge", "", "Seconds since the last good sync (or agent start)"),
    PrometheusMetric("wg_ha_sync_skipped_files", "gauge", "", "Peer files the last sync skipped"),
    PrometheusMetric("wg_ha_healthy", "gauge", "", "1 when /health answers 200"),
    PrometheusMetric("wg_ha_draining", "gauge", "", "1 while draining"),
    PrometheusMetric("wg_ha_check_ok", "gauge", "check", "1 when the health check passes"),
]

# CloudWatch embedded metric format (EMF). The namespace must equal METRICS_NAMESPACE in
# stacks/metrics.ts. "statistic" is the one to use across servers: every server has the same
# peers (Maximum), a client is on one server (Sum). Cost per dimension set: README.md, "Metrics".
EMF_NAMESPACE = "WgHa"
EMF_DIMENSIONS = [["Environment"], ["Environment", "InstanceId"]]
EMF_METRICS = [
    CloudWatchMetric("Peers", "Count", "Maximum"),
    CloudWatchMetric("ActivePeers", "Count", "Sum"),
    CloudWatchMetric("BytesReceived", "Bytes", "Sum"),
    CloudWatchMetric("BytesSent", "Bytes", "Sum"),
    CloudWatchMetric("SyncAgeSeconds", "Seconds", "Maximum"),
    CloudWatchMetric("Healthy", "Count", "Sum"),
]

# WireGuard's REJECT_AFTER_TIME: a peer without a handshake for this long has no session left.
ACTIVE_PEER_SECONDS = 180

USAGE = """Usage: wg-ha-agent.py [--check | --emf-once | --list-metrics | --help]
Serves GET|HEAD /health, GET /metrics, GET|POST|DELETE /drain on WG_HA_AGENT_ADDRESS:WG_HA_AGENT_PORT.
  --check         print the health JSON; exit 0 if healthy, else 1
  --emf-once      print one CloudWatch EMF line (bytes since the interface started)
  --list-metrics  print the metric names as JSON
Settings: $WG_HA_CONFIG (default /etc/wg-ha/wg-ha.env); the environment wins."""


def log(message):
    """One line on stderr (stdout carries only EMF lines). journald stamps its own time."""
    stamp = "" if os.environ.get("JOURNAL_STREAM") else time.strftime("%Y-%m-%dT%H:%M:%S ")
    sys.stderr.write(stamp + "wg-ha-agent: " + message.replace("\n", " ") + "\n")
    sys.stderr.flush()


def read_text(path):
    """The file's text, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, ValueError):
        return None


# --- Settings --------------------------------------------------------------------------------

DEFAULT_CONFIG_PATH = "/etc/wg-ha/wg-ha.env"

# Defaults of the keys the agent reads (CONTRACT.md, README.md "Settings"); other keys default
# to "". WG_HA_EMF defaults to WG_HA_AWS (load_settings).
DEFAULTS = {
    "WG_HA_ENVIRONMENT": "wg-ha",
    "WG_INTERFACE": "wg0",
    "WG_HA_STATE_DIR": "/mnt/wg-ha",
    "WG_HA_LOCAL_DIR": "/var/lib/wg-ha",
    "WG_HA_SYNC_STALE_SECONDS": "30",
    "WG_HA_AGENT_ADDRESS": "0.0.0.0",
    "WG_HA_AGENT_PORT": "8080",
    "WG_HA_DRAIN_SECONDS": "30",
    "WG_HA_AWS": "0",
    "WG_HA_IMDS_URL": "http://169.254.169.254",
    "WG_HA_EMF_INTERVAL_SECONDS": "60",
    "WG_HA_LIFECYCLE_POLL_SECONDS": "5",
    "WG_HA_PROC_SYS": "/proc/sys",
}

# (field, key, lowest, highest, whole numbers only), checked in this order.
NUMERIC_SETTINGS = [
    ("agent_port", "WG_HA_AGENT_PORT", 0, 65535, True),
    ("sync_stale_seconds", "WG_HA_SYNC_STALE_SECONDS", 1, 1e9, False),
    ("drain_seconds", "WG_HA_DRAIN_SECONDS", 0, 1e9, False),
    ("emf_interval_seconds", "WG_HA_EMF_INTERVAL_SECONDS", 0.1, 1e9, False),
    ("lifecycle_poll_seconds", "WG_HA_LIFECYCLE_POLL_SECONDS", 0.1, 1e9, False),
    ("aws", "WG_HA_AWS", 0, 1, True),
    ("emf", "WG_HA_EMF", 0, 1, True),
]

Settings = namedtuple("Settings", [
    "environment",             # WG_HA_ENVIRONMENT: the EMF Environment dimension
    "interface",               # WG_INTERFACE
    "state_dir",               # WG_HA_STATE_DIR: the shared store (EFS)
    "local_dir",               # WG_HA_LOCAL_DIR: sync-status.json and the drain flag
    "sync_stale_seconds",      # WG_HA_SYNC_STALE_SECONDS
    "proc_sys",                # WG_HA_PROC_SYS: where net/ipv4/ip_forward is
    "agent_address",           # WG_HA_AGENT_ADDRESS
    "agent_port",              # WG_HA_AGENT_PORT: 0 picks a free port
    "client_pools",            # WG_HA_CLIENT_CIDR and _CIDR6 as networks: answered with 403
    "drain_seconds",           # WG_HA_DRAIN_SECONDS
    "aws",                     # WG_HA_AWS: IMDS lifecycle polling
    "imds_url",                # WG_HA_IMDS_URL
    "region",                  # WG_HA_REGION: "" = from IMDS
    "asg_name",                # WG_HA_ASG_NAME
    "lifecycle_hook",          # WG_HA_LIFECYCLE_HOOK
    "lifecycle_poll_seconds",  # WG_HA_LIFECYCLE_POLL_SECONDS
    "autoscaling_url",         # WG_HA_AUTOSCALING_URL: "" = the regional endpoint
    "emf",                     # WG_HA_EMF: publish EMF lines
    "emf_interval_seconds",    # WG_HA_EMF_INTERVAL_SECONDS
    "emf_file",                # WG_HA_EMF_FILE: "" = stdout
])


class SettingsError(Exception):
    """The settings have problems; the message lists all of them, on one line."""


def load_settings(environ):
    """Settings from the file $WG_HA_CONFIG and the environment, which wins (tests set paths
    there). Raises SettingsError naming every problem at once, each with its bad value."""
    problems = []
    raw = dict(DEFAULTS)
    raw.update(read_settings_file(environ.get("WG_HA_CONFIG", DEFAULT_CONFIG_PATH), problems))
    raw.update((key, value) for key, value in environ.items() if key.startswith("WG_"))

    def value(key):
        return raw.get(key) or ""

    raw["WG_HA_EMF"] = value("WG_HA_EMF") or value("WG_HA_AWS")
    numbers = {}
    for field, key, lowest, highest, whole in NUMERIC_SETTINGS:
        numbers[field] = parse_number(key, value(key), lowest, highest, whole, problems)
    interface = value("WG_INTERFACE")
    # Also keeps the name safe to pass to `wg` and to the SIOCGIFFLAGS buffer (IFNAMSIZ 16).
    if not re.match(r"[A-Za-z0-9_.=+-]{1,15}$", interface):
        problems.append("WG_INTERFACE '%s' is not a valid interface name" % interface)
    client_pools = []
    for key in ("WG_HA_CLIENT_CIDR", "WG_HA_CLIENT_CIDR6"):
        try:
            if value(key):
                client_pools.append(ipaddress.ip_network(value(key), strict=False))
        except ValueError:
            problems.append("%s '%s' is not a CIDR" % (key, value(key)))
    if numbers["aws"]:
        for key in ("WG_HA_ASG_NAME", "WG_HA_LIFECYCLE_HOOK"):
            if not value(key):
                problems.append("%s must be set when WG_HA_AWS=1" % key)
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(
        environment=value("WG_HA_ENVIRONMENT"),
        interface=interface,
        state_dir=value("WG_HA_STATE_DIR"),
        local_dir=value("WG_HA_LOCAL_DIR"),
        sync_stale_seconds=numbers["sync_stale_seconds"],
        proc_sys=value("WG_HA_PROC_SYS"),
        agent_address=value("WG_HA_AGENT_ADDRESS"),
        agent_port=int(numbers["agent_port"]),
        client_pools=client_pools,
        drain_seconds=numbers["drain_seconds"],
        aws=bool(numbers["aws"]),
        imds_url=value("WG_HA_IMDS_URL").rstrip("/"),
        region=value("WG_HA_REGION"),
        asg_name=value("WG_HA_ASG_NAME"),
        lifecycle_hook=value("WG_HA_LIFECYCLE_HOOK"),
        lifecycle_poll_seconds=numbers["lifecycle_poll_seconds"],
        autoscaling_url=value("WG_HA_AUTOSCALING_URL"),
        emf=bool(numbers["emf"]),
        emf_interval_seconds=numbers["emf_interval_seconds"],
        emf_file=value("WG_HA_EMF_FILE"),
    )


def read_settings_file(path, problems):
    """The KEY=value lines of the settings file (the format bash sources: no quotes, no spaces).
    Blank and '#' lines are skipped; any other line, or a missing file, adds a problem."""
    values = {}
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\r\n")
                setting = re.match(r"(WG_[A-Z0-9_]+)=(.*)", line)
                if setting:
                    values[setting.group(1)] = setting.group(2)
                elif line.strip() and not line.lstrip().startswith("#"):
                    problems.append("%s:%d: not a WG_*=value line" % (path, number))
    except OSError as e:
        problems.append("settings file %s is missing or unreadable (set WG_HA_CONFIG): %s" % (path, e.strerror))
    return values


def parse_number(key, text, lowest, highest, whole, problems):
    """The value of text as a float, or None after adding a problem. Plain decimals only: no
    sign, exponent, 'inf' or 'nan'."""
    pattern = r"\d+$" if whole else r"\d+(\.\d+)?$"
    if re.match(pattern, text) and lowest <= float(text) <= highest:
        return float(text)
    problems.append("%s '%s' must be a number from %g to %g" % (key, text, lowest, highest))
    return None


# --- WireGuard -------------------------------------------------------------------------------

# <linux/sockios.h>: read an interface's flags; <net/if.h>: bit 0 is "administratively up".
SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
# The NLB probes every 5 s from several nodes: one `wg show` per second serves them all.
WG_SHOW_CACHE_SECONDS = 1
WG_SHOW_TIMEOUT_SECONDS = 5

Peer = namedtuple("Peer", "public_key allowed_ips latest_handshake rx_bytes tx_bytes")


class WireGuard:
    """Reads one interface: its flags, its public key and its peers (`wg show`).

    The public key is cached for WG_SHOW_CACHE_SECONDS, and concurrent probes wait for one
    shared `wg show`. A /metrics scrape refreshes the key from its dump, so the scrape's health
    check runs no second `wg`.
    """

    def __init__(self, interface):
        self.interface = interface
        self._lock = threading.Lock()
        self._key_read_at = float("-inf")
        self._key = (False, "")

    def interface_is_up(self):
        """(up, detail). SIOCGIFFLAGS works in this network namespace, without privileges."""
        # struct ifreq: the name in 16 bytes, then a union whose first 2 bytes are the flags.
        request = self.interface.encode().ljust(40, b"\0")
        try:
            with socket.socket() as sock:
                reply = ioctl(sock, SIOCGIFFLAGS, request)
        except OSError as e:
            return False, "%s: %s" % (self.interface, e.strerror)
        up = bool(int.from_bytes(reply[16:18], sys.byteorder) & IFF_UP)
        return up, "%s is %s" % (self.interface, "up" if up else "down")

    def show_public_key(self):
        """(True, the interface's public key) or (False, why it is unknown)."""
        with self._lock:
            if time.monotonic() - self._key_read_at > WG_SHOW_CACHE_SECONDS:
                ok, output = self._wg_show("public-key")
                self._key_read_at, self._key = time.monotonic(), (ok, output.strip())
            return self._key

    def read_peers(self):
        """(known, peers) from `wg show dump`. known is False when `wg` failed: the peers are
        then unknown, not zero. The dump's first line holds the interface's private key: only
        its public key is kept."""
        ok, output = self._wg_show("dump")
        lines = output.split("\n") if ok else []
        interface_fields = lines[0].split("\t") if lines else []
        if ok and len(interface_fields) < 4:
            ok, output = False, "wg show dump: unexpected output"
        peers = [peer for peer in map(parse_peer_line, lines[1:]) if peer]
        with self._lock:
            self._key_read_at = time.monotonic()
            self._key = (ok, interface_fields[1] if ok else output.strip())
        return ok, peers

    def _wg_show(self, what):
        """(True, stdout) or (False, "wg show WHAT: " and the last line of the error)."""
        command = ["wg", "show", self.interface, what]
        try:
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    timeout=WG_SHOW_TIMEOUT_SECONDS, universal_newlines=True)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, "wg show %s: %s" % (what, e)
        if result.returncode == 0:
            return True, result.stdout
        error = result.stderr.strip().split("\n")[-1] or "exit %d" % result.returncode
        return False, "wg show %s: %s" % (what, error)


def parse_peer_line(line):
    """A Peer from a peer line of `wg show dump` (public key, preshared key, endpoint, allowed
    IPs, latest handshake, rx bytes, tx bytes, keepalive), or None for any other line."""
    fields = line.split("\t")
    if len(fields) < 8 or not all(number.isdigit() for number in fields[4:7]):
        return None
    return Peer(public_key=fields[0], allowed_ips=fields[3], latest_handshake=int(fields[4]),
                rx_bytes=int(fields[5]), tx_bytes=int(fields[6]))


# --- Shared files: the cluster key, the sync status, the drain flag ----------------------------

CLUSTER_KEY_REREAD_SECONDS = 10
CLUSTER_KEY_FIRST_READ_WAIT_SECONDS = 0.5


class ClusterKey:
    """The cluster's public key, from $WG_HA_STATE_DIR/server/public.key.

    The store is an EFS mount, and a hung NFS read must not hang /health: a background thread
    reads the file every CLUSTER_KEY_REREAD_SECONDS, and only the very first read is waited for
    (briefly). The key never changes, so the last value read stays valid.
    """

    def __init__(self, state_dir):
        self._path = os.path.join(state_dir, "server/public.key")
        self._lock = threading.Lock()
        self._key = None
        self._reader = None
        self._read_started_at = float("-inf")

    def get(self):
        """The key, or None while no read has found one."""
        with self._lock:
            due = time.monotonic() - self._read_started_at > CLUSTER_KEY_REREAD_SECONDS
            if due and not (self._reader and self._reader.is_alive()):
                self._read_started_at = time.monotonic()
                self._reader = threading.Thread(target=self._read, daemon=True)
                self._reader.start()
            reader = self._reader
        if self._key is None:
            reader.join(CLUSTER_KEY_FIRST_READ_WAIT_SECONDS)
        return self._key

    def _read(self):
        key = (read_text(self._path) or "").strip()
        if key:
            self._key = key


def read_sync_status(local_dir):
    """sync-status.json as the sync loop writes it (CONTRACT.md), or {} when missing or corrupt."""
    try:
        status = json.loads(read_text(os.path.join(local_dir, "sync-status.json")) or "0")
    except ValueError:
        return {}
    return status if isinstance(status, dict) else {}


def last_success(sync_status):
    """UNIX time of the last good sync, or None (none yet, or not a number)."""
    value = sync_status.get("last_success")
    # type(), not isinstance(): true and false are no times.
    return value if type(value) in (int, float) else None


def sync_age_seconds(sync_status, now, agent_started):
    """Seconds since the last good sync; before the first one, since the agent started."""
    last = last_success(sync_status)
    return max(0.0, now - (agent_started if last is None else last))


class Drain:
    """Whether this server is draining, and why.

    The flag file $WG_HA_LOCAL_DIR/draining holds the reason. It is set over HTTP, by the
    lifecycle watcher, or by an operator with a shell. `leaving` becomes true once the Auto
    Scaling group terminates the instance: from then on the server drains even without the flag.
    """

    def __init__(self, local_dir):
        self.path = os.path.join(local_dir, "draining")
        self.leaving = False

    def reason(self):
        """The flag's reason, or None when there is no flag."""
        text = read_text(self.path)
        return None if text is None else text.strip()

    def start(self, reason):
        """Creates the flag atomically (temp file + rename): a probe never reads half a reason."""
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(reason + "\n")
        os.replace(temporary, self.path)
        log("drain on: " + reason)

    def stop(self, requested_by):
        """Removes the flag, if any (rehearsals: the caller checks `leaving` first)."""
        if os.path.exists(self.path):
            os.remove(self.path)
            log("drain off (%s)" % requested_by)


# --- Health ----------------------------------------------------------------------------------

Check = namedtuple("Check", "ok detail")


class HealthChecker:
    """The checks behind /health; the NLB takes the server out of service on 503."""

    def __init__(self, settings, wireguard, cluster_key, drain, agent_started):
        self._settings = settings
        self._wireguard = wireguard
        self._cluster_key = cluster_key
        self._drain = drain
        self._agent_started = agent_started
        # Transitions are logged, not probes: the failing checks of the last run.
        self._failing = None
        self._failing_lock = threading.Lock()

    def run(self, now=None, sync_status=None):
        """The /health document: {"ok", "failing", "interface", "time", "checks": {name: {"ok",
        "detail"}}}, with the checks in a fixed order."""
        now = now or time.time()
        if sync_status is None:
            sync_status = read_sync_status(self._settings.local_dir)
        checks = {
            "interface": self.check_interface(),
            "public_key": self.check_public_key(sync_status),
            "sync": self.check_sync(sync_status, now),
            "forwarding": self.check_forwarding(),
            "draining": self.check_draining(),
        }
        failing = [name for name, check in checks.items() if not check.ok]
        self._log_transition(failing, checks)
        return {
            "ok": not failing,
            "failing": failing,
            "interface": self._settings.interface,
            "time": round(now, 3),
            "checks": {name: {"ok": check.ok, "detail": check.detail} for name, check in checks.items()},
        }

    def check_interface(self):
        """The interface exists and is administratively up."""
        return Check(*self._wireguard.interface_is_up())

    def check_public_key(self, sync_status):
        """The interface runs with the cluster's key; with any other, no client could connect."""
        known, interface_key = self._wireguard.show_public_key()
        cluster_key, source = self._cluster_key.get(), "the store"
        if not cluster_key:
            # The store is unreadable: the sync loop recorded the key it applied last.
            cluster_key, source = sync_status.get("public_key"), "sync-status.json"
        if not known:
            return Check(False, interface_key)
        if not cluster_key:
            return Check(False, "cluster public key unknown")
        same = interface_key == cluster_key
        verb = "is" if same else "is not"
        return Check(same, "%s %s the cluster key %s (from %s)" % (interface_key, verb, cluster_key, source))

    def check_sync(self, sync_status, now):
        """The peers were applied recently. Source "cache" (store unreadable, the last good
        config serving) is fine while it is fresh."""
        if last_success(sync_status) is None:
            return Check(False, "no successful sync recorded")
        age = sync_age_seconds(sync_status, now, self._agent_started)
        limit = self._settings.sync_stale_seconds
        detail = "last success %.0f s ago from %s (limit %g s)" % (age, sync_status.get("source"), limit)
        return Check(age <= limit, detail)

    def check_forwarding(self):
        """The kernel forwards client traffic. /proc/sys/net is per network namespace."""
        path = os.path.join(self._settings.proc_sys, "net/ipv4/ip_forward")
        value = (read_text(path) or "?").strip()
        return Check(value == "1", "net.ipv4.ip_forward = " + value)

    def check_draining(self):
        """Nobody drained the server, and the Auto Scaling group is not terminating it."""
        if self._drain.leaving:
            return Check(False, "leaving the Auto Scaling group")
        reason = self._drain.reason()
        if reason is None:
            return Check(True, "not draining")
        return Check(False, "draining: " + reason)

    def _log_transition(self, failing, checks):
        with self._failing_lock:
            if failing == self._failing:
                return
            self._failing = failing
            if failing:
                reasons = ("%s (%s)" % (name, checks[name].detail) for name in failing)
                log("health: 503, failing: " + "; ".join(reasons))
            else:
                log("health: ok")


# --- Metrics: Prometheus and CloudWatch EMF ----------------------------------------------------

EMF_FILE_ROTATE_BYTES = 5 << 20

# Everything both renderers need, taken at one moment.
Snapshot = namedtuple("Snapshot", "time peers_known peers active_peers health sync_status sync_age_seconds")


def render_prometheus(snapshot, interface):
    """/metrics in the Prometheus text format 0.0.4: HELP and TYPE for every metric of the table,
    in its order. Without a `wg show dump`, the wireguard_* samples are left out: unknown, not 0."""
    health = snapshot.health
    samples = {
        "wg_ha_sync_age_seconds": [({}, snapshot.sync_age_seconds)],
        "wg_ha_sync_skipped_files": [({}, len(snapshot.sync_status.get("skipped") or []))],
        "wg_ha_healthy": [({}, int(health["ok"]))],
        "wg_ha_draining": [({}, int(not health["checks"]["draining"]["ok"]))],
        "wg_ha_check_ok": [({"check": name}, int(check["ok"])) for name, check in health["checks"].items()],
    }
    if snapshot.peers_known:
        per_interface = {"interface": interface}
        samples["wireguard_peers_total"] = [(per_interface, len(snapshot.peers))]
        samples["wireguard_peers"] = [(per_interface, len(snapshot.peers))]
        samples["wireguard_peers_active"] = [(per_interface, snapshot.active_peers)]
        for peer in snapshot.peers:
            labels = {"interface": interface, "public_key": peer.public_key, "allowed_ips": peer.allowed_ips}
            for name, value in (("wireguard_sent_bytes_total", peer.tx_bytes),
                                ("wireguard_received_bytes_total", peer.rx_bytes),
                                ("wireguard_latest_handshake_seconds", peer.latest_handshake)):
                samples.setdefault(name, []).append((labels, value))
    lines = []
    for metric in PROMETHEUS_METRICS:
        lines.append("# HELP %s %s" % (metric.name, metric.help))
        lines.append("# TYPE %s %s" % (metric.name, metric.type))
        for labels, value in samples.get(metric.name, []):
            lines.append("%s%s %s" % (metric.name, format_labels(labels), format_value(value)))
    return "\n".join(lines) + "\n"


def format_labels(labels):
    """{name="value",...} with the format's escapes, or "" for no labels."""
    if not labels:
        return ""
    pairs = ('%s="%s"' % (name, escape_label_value(value)) for name, value in labels.items())
    return "{%s}" % ",".join(pairs)


def escape_label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_value(value):
    """Counts as integers, durations with millisecond precision."""
    return str(value) if type(value) is int else "%.3f" % value


def render_emf(snapshot, environment, instance_id, interface, previous_counters):
    """One CloudWatch EMF line, and the byte counters it saw (pass them to the next call).

    BytesReceived and BytesSent are deltas against previous_counters {public key: (rx, tx)}. A
    peer missing there counts from zero, and so does a counter that went down (the interface was
    re-created).
    """
    received = sent = 0
    counters = {}
    for peer in snapshot.peers:
        previous_rx, previous_tx = previous_counters.get(peer.public_key, (0, 0))
        received += counter_increase(peer.rx_bytes, previous_rx)
        sent += counter_increase(peer.tx_bytes, previous_tx)
        counters[peer.public_key] = (peer.rx_bytes, peer.tx_bytes)
    document = {
        "_aws": {
            "Timestamp": int(snapshot.time * 1000),
            "CloudWatchMetrics": [{
                "Namespace": EMF_NAMESPACE,
                "Dimensions": EMF_DIMENSIONS,
                "Metrics": [{"Name": metric.name, "Unit": metric.unit} for metric in EMF_METRICS],
            }],
        },
        "Environment": environment,
        "InstanceId": instance_id,
        "Interface": interface,
        "Peers": len(snapshot.peers),
        "ActivePeers": snapshot.active_peers,
        "BytesReceived": received,
        "BytesSent": sent,
        "SyncAgeSeconds": round(snapshot.sync_age_seconds, 1),
        "Healthy": int(snapshot.health["ok"]),
        "Failing": snapshot.health["failing"],
    }
    return json.dumps(document, separators=(",", ":")), counters


def counter_increase(current, previous):
    return current - previous if current >= previous else current


def publish_emf_line(line, emf_file):
    """To stdout (the journal under systemd) or, with WG_HA_EMF_FILE, appended to that file,
    which the CloudWatch agent ships (logs_collected.files); rotated to .1 past 5 MiB."""
    if not emf_file:
        print(line, flush=True)
        return
    try:
        if os.path.exists(emf_file) and os.path.getsize(emf_file) > EMF_FILE_ROTATE_BYTES:
            os.replace(emf_file, emf_file + ".1")
        with open(emf_file, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError as e:
        log("cannot write %s: %s" % (emf_file, e))


# --- AWS: IMDSv2, SigV4, the termination lifecycle hook ----------------------------------------

IMDS_TOKEN_TTL_SECONDS = 21600
IMDS_TOKEN_RENEW_SECONDS = 21000  # a little before the TTL ends
IMDS_TIMEOUT_SECONDS = 2
COMPLETE_RETRY_MAX_SECONDS = 60


class AwsError(Exception):
    """An IMDS or Auto Scaling call failed; the message names the call and the reason."""


class Imds:
    """IMDSv2: every GET carries a session token (PUT /latest/api/token), renewed before its TTL
    ends and after a 401. Never through a proxy: the address is link-local."""

    def __init__(self, base_url):
        self._base_url = base_url
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._token = None
        self._token_renew_at = float("-inf")

    def get(self, path):
        """The text of /latest/meta-data/<path>."""
        if time.monotonic() > self._token_renew_at:
            ttl = {"X-aws-ec2-metadata-token-ttl-seconds": str(IMDS_TOKEN_TTL_SECONDS)}
            self._token = self._call("PUT", "/latest/api/token", ttl)
            self._token_renew_at = time.monotonic() + IMDS_TOKEN_RENEW_SECONDS
        return self._call("GET", "/latest/meta-data/" + path, {"X-aws-ec2-metadata-token": self._token})

    def _call(self, method, path, headers):
        request = urllib.request.Request(self._base_url + path, None, headers, method=method)
        try:
            with self._opener.open(request, timeout=IMDS_TIMEOUT_SECONDS) as response:
                return response.read(65536).decode().strip()
        except urllib.error.HTTPError as e:
            if e.code == 401:
                self._token_renew_at = float("-inf")  # rejected token: fetch a new one next time
            raise AwsError("IMDS %s %s: HTTP %d" % (method, path, e.code))
        except (OSError, ValueError) as e:
            raise AwsError("IMDS %s %s: %s" % (method, path, getattr(e, "reason", e)))


class Ec2Instance:
    """What the agent needs to know about its instance, from IMDS. Off AWS (WG_HA_AWS=0) the
    instance id is the hostname, so the local cluster can capture EMF lines too."""

    def __init__(self, imds, on_aws):
        self._imds = imds
        self._on_aws = on_aws
        self._instance_id = None
        self._credentials = None
        self._credentials_valid_until = float("-inf")

    def instance_id(self):
        if not self._instance_id and self._on_aws:
            try:
                self._instance_id = self._imds.get("instance-id")
            except AwsError as e:
                log("instance id: %s; using the hostname" % e)
        return self._instance_id or socket.gethostname()

    def region(self):
        return self._imds.get("placement/region")

    def target_lifecycle_state(self):
        return self._imds.get("autoscaling/target-lifecycle-state")

    def role_credentials(self):
        """The instance role's temporary keys {"AccessKeyId", "SecretAccessKey", "Token", ...},
        reused until 5 minutes before they expire, and for an hour at most."""
        if self._credentials is None or time.time() > self._credentials_valid_until:
            role = self._imds.get("iam/security-credentials/").split()[0]
            credentials = json.loads(self._imds.get("iam/security-credentials/" + role))
            expires = calendar.timegm(time.strptime(credentials["Expiration"][:19], "%Y-%m-%dT%H:%M:%S"))
            self._credentials_valid_until = min(expires - 300, time.time() + 3600)
            self._credentials = credentials
        return self._credentials

    def forget_credentials(self):
        """Fetch fresh credentials on the next call (AWS rejected these)."""
        self._credentials = None


def sigv4(method, url, headers, body, access_key_id, secret_access_key, region, service):
    """The Authorization header of AWS Signature Version 4 (header form). Every header in
    `headers` is signed; X-Amz-Date must be one of them. The tests check it against AWS's
    published vectors."""
    parts = urllib.parse.urlsplit(url)
    signed_headers = sorted((name.lower(), " ".join(value.split())) for name, value in headers.items())
    signed_names = ";".join(name for name, _ in signed_headers)
    amz_date = dict(signed_headers)["x-amz-date"]
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    canonical_request = "\n".join([
        method,
        urllib.parse.quote(parts.path or "/", safe="/-_.~"),
        canonical_query(parts.query),
        "".join("%s:%s\n" % (name, value) for name, value in signed_headers),
        signed_names,
        hashlib.sha256(body).hexdigest(),
    ])
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256",
        amz_date,
        scope,
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])
    # The signing key: "AWS4" + secret, then HMAC'd with date, region, service, "aws4_request".
    key = ("AWS4" + secret_access_key).encode()
    for scope_part in scope.split("/"):
        key = hmac.new(key, scope_part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        access_key_id, scope, signed_names, signature)


def canonical_query(query):
    """The query string as SigV4 signs it: parameters sorted, everything but -_.~ encoded."""
    def encode(text):
        return urllib.parse.quote(text, safe="-_.~")
    parameters = sorted(urllib.parse.parse_qsl(query, keep_blank_values=True))
    return "&".join("%s=%s" % (encode(name), encode(value)) for name, value in parameters)


def autoscaling_endpoint(region):
    """The regional Auto Scaling Query API endpoint; China regions are under amazonaws.com.cn."""
    china = ".cn" if region.startswith("cn-") else ""
    return "https://autoscaling.%s.amazonaws.com%s/" % (region, china)


def parse_aws_error(xml):
    """(Code, Message) of a Query API <ErrorResponse>, "" for each one missing."""
    code = " ".join(re.findall("<Code>([^<]*)<", xml))
    message = " ".join(re.findall("<Message>([^<]*)<", xml))
    return code, message


class Lifecycle:
    """Drains the server when its Auto Scaling group terminates it, then lets the group go on.

    The group's termination lifecycle hook holds the instance in Terminating:Wait, which IMDS
    reports as target-lifecycle-state "Terminated". The agent then answers 503 (on scale-in the
    group has already deregistered the target; the 503 covers every other path), waits until
    WG_HA_DRAIN_SECONDS after the drain began, and calls CompleteLifecycleAction (CONTINUE). If
    it never gets through, the hook's heartbeat timeout and default result CONTINUE terminate
    the instance anyway.
    """

    def __init__(self, settings, instance, drain):
        self._settings = settings
        self._instance = instance
        self._drain = drain

    def run(self):
        self.wait_for_termination()
        self._drain.leaving = True
        drain_started = self.start_draining()
        wait = max(0, drain_started + self._settings.drain_seconds - time.time())
        log("lifecycle: draining, CompleteLifecycleAction in %.0f s" % wait)
        time.sleep(wait)
        self.complete_with_retries()

    def wait_for_termination(self):
        """Polls the lifecycle state until it is "Terminated", logging each change once."""
        last_state = None
        while True:
            try:
                state = self._instance.target_lifecycle_state()
            except AwsError as e:
                # Not in an Auto Scaling group (404), or IMDS unreachable: keep polling.
                state = "unknown (%s)" % e
            if state != last_state:
                log("lifecycle: target-lifecycle-state " + state)
            if state == "Terminated":
                return
            last_state = state
            time.sleep(self._settings.lifecycle_poll_seconds)

    def start_draining(self):
        """Sets the drain flag unless it is there already, and returns when draining began: the
        flag's time, so a server an operator drained earlier completes at once."""
        try:
            if not os.path.exists(self._drain.path):
                self._drain.start("lifecycle: instance leaving the Auto Scaling group")
            return min(time.time(), os.path.getmtime(self._drain.path))
        except OSError as e:
            log("lifecycle: drain flag: %s" % e)
            return time.time()

    def complete_with_retries(self):
        """Retries after 1, 2, 4 ... 60 s: the group waits for this call (or its timeout)."""
        delay = 1
        while True:
            try:
                self.complete_lifecycle_action()
                return
            except Exception as e:
                log("lifecycle: CompleteLifecycleAction failed: %s; retry in %d s" % (e, delay))
            time.sleep(delay)
            delay = min(2 * delay, COMPLETE_RETRY_MAX_SECONDS)

    def complete_lifecycle_action(self):
        """One signed CompleteLifecycleAction (CONTINUE) through the Auto Scaling Query API.
        Returns when done, or when there is no lifecycle action left to complete."""
        settings = self._settings
        credentials = self._instance.role_credentials()
        instance_id = self._instance.instance_id()
        region = settings.region or self._instance.region()
        url = settings.autoscaling_url or autoscaling_endpoint(region)
        body = urllib.parse.urlencode([
            ("Action", "CompleteLifecycleAction"),
            ("AutoScalingGroupName", settings.asg_name),
            ("InstanceId", instance_id),
            ("LifecycleActionResult", "CONTINUE"),
            ("LifecycleHookName", settings.lifecycle_hook),
            ("Version", "2011-01-01"),
        ]).encode()
        headers = {
            "Host": urllib.parse.urlsplit(url).netloc,
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        }
        if credentials.get("Token"):
            headers["X-Amz-Security-Token"] = credentials["Token"]
        headers["Authorization"] = sigv4("POST", url, headers, body, credentials["AccessKeyId"],
                                         credentials["SecretAccessKey"], region, "autoscaling")
        action = "CompleteLifecycleAction(%s, %s, %s, CONTINUE)" % (
            settings.asg_name, settings.lifecycle_hook, instance_id)
        request = urllib.request.Request(url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                log("lifecycle: %s: HTTP %d, done" % (action, response.status))
        except urllib.error.HTTPError as e:
            code, message = parse_aws_error(e.read(4096).decode("utf-8", "replace"))
            if "No active Lifecycle Action" in message:
                log("lifecycle: %s: %s: %s (completed or timed out already); done" % (action, code, message))
                return
            if code in ("ExpiredToken", "InvalidClientTokenId"):
                self._instance.forget_credentials()
            raise AwsError("%s: %s %s" % (action, code or "HTTP %d" % e.code, message))


# --- The agent and its HTTP API ----------------------------------------------------------------

class Agent:
    """The parts of one running agent, wired from the settings. The HTTP handler, the EMF
    publisher and the lifecycle watcher share them."""

    def __init__(self, settings):
        self.settings = settings
        self.started = time.time()
        self.wireguard = WireGuard(settings.interface)
        self.drain = Drain(settings.local_dir)
        self.instance = Ec2Instance(Imds(settings.imds_url), settings.aws)
        cluster_key = ClusterKey(settings.state_dir)
        self.health = HealthChecker(settings, self.wireguard, cluster_key, self.drain, self.started)

    def is_vpn_client(self, ip):
        """A tunnel address. Clients of another server arrive MASQUERADEd from a VPC address and
        pass this test: the firewall must stop them (README.md, "Who may call it")."""
        return any(ip in pool for pool in self.settings.client_pools)

    def snapshot(self):
        """Peers, health and sync state at one moment. It costs one `wg show dump`: the health
        check reuses the public key that the dump refreshed."""
        peers_known, peers = self.wireguard.read_peers()
        now = time.time()
        sync_status = read_sync_status(self.settings.local_dir)
        health = self.health.run(now, sync_status)
        active_peers = sum(1 for peer in peers
                           if peer.latest_handshake and now - peer.latest_handshake <= ACTIVE_PEER_SECONDS)
        return Snapshot(now, peers_known, peers, active_peers, health, sync_status,
                        sync_age_seconds(sync_status, now, self.started))

    def prometheus(self):
        return render_prometheus(self.snapshot(), self.settings.interface)

    def emf_line(self, previous_counters):
        """(line, counters): see render_emf."""
        snapshot = self.snapshot()
        return render_emf(snapshot, self.settings.environment, self.instance.instance_id(),
                          self.settings.interface, previous_counters)

    def publish_emf(self, line):
        publish_emf_line(line, self.settings.emf_file)

    def publish_emf_forever(self):
        """One EMF line every WG_HA_EMF_INTERVAL_SECONDS, on a fixed schedule. Byte counts are
        deltas, the first line's from the counters at start."""
        _, peers = self.wireguard.read_peers()
        counters = {peer.public_key: (peer.rx_bytes, peer.tx_bytes) for peer in peers}
        due = time.monotonic()
        while True:
            due += self.settings.emf_interval_seconds
            time.sleep(max(0, due - time.monotonic()))
            try:
                line, counters = self.emf_line(counters)
                self.publish_emf(line)
            except Exception as e:
                # Keep publishing: a missing line is what the "no data" alarm reads as "agent gone".
                log("EMF: %r" % e)


PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4"
DRAIN_BODY_MAX_BYTES = 1024
DRAIN_REASON_MAX_CHARS = 200


class AgentServer(ThreadingHTTPServer):
    """The HTTP server (IPv4, a thread per request) that hands the agent to its handlers."""

    def __init__(self, agent):
        self.agent = agent
        super().__init__((agent.settings.agent_address, agent.settings.agent_port), AgentHandler)


class AgentHandler(BaseHTTPRequestHandler):
    """The HTTP API (README.md, "HTTP API"). Every answer closes the connection."""

    server_version = "wg-ha-agent"
    sys_version = ""
    timeout = 10  # seconds: a client that stops sending must not keep its thread
    ALLOWED_METHODS = {"/health": "GET, HEAD", "/metrics": "GET, HEAD", "/drain": "GET, HEAD, POST, DELETE"}

    def log_message(self, *args):
        """No request log: the NLB probes every 5 s from several nodes. Health transitions are
        logged instead."""

    def dispatch(self):
        try:
            self.route()
        except Exception as e:
            log("HTTP %s %s: %r" % (self.command, self.path, e))
            self.respond(500, {"error": "internal error"})

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = dispatch

    def route(self):
        agent = self.server.agent
        client = self.client_ip()
        path = urllib.parse.urlsplit(self.path).path  # a query string does not change the route
        allowed = self.ALLOWED_METHODS.get(path)
        # A VPN client reaches this port through the tunnel, where no security group applies.
        if agent.is_vpn_client(client):
            self.respond(403, {"error": "not from the VPN client pool"})
        elif not allowed:
            self.respond(404, {"error": "not found"})
        elif self.command not in allowed.split(", "):
            self.respond(405, {"error": "method not allowed"}, allow=allowed)
        elif path == "/health":
            health = agent.health.run()
            self.respond(200 if health["ok"] else 503, health)
        elif path == "/metrics":
            self.respond(200, agent.prometheus(), PROMETHEUS_CONTENT_TYPE)
        else:
            self.serve_drain(agent.drain, client)

    def serve_drain(self, drain, client):
        """GET reports; POST sets the flag; DELETE removes it, unless the instance is leaving."""
        if self.command == "POST":
            reason = self.read_drain_reason() or "drained by an operator"
            drain.start("%s (POST /drain from %s)" % (reason, client))
        elif self.command == "DELETE":
            if drain.leaving:
                self.respond(409, {"error": "leaving the Auto Scaling group: the drain cannot be undone"})
                return
            drain.stop("DELETE /drain from %s" % client)
        reason = drain.reason()
        self.respond(200, {"draining": drain.leaving or reason is not None, "reason": reason})

    def read_drain_reason(self):
        """The request body as a one-line reason: printable ASCII, at most 200 characters."""
        # A malformed Content-Length (not a number, negative) raises: 500, and no drain.
        length = min(int(self.headers.get("Content-Length") or 0), DRAIN_BODY_MAX_BYTES)
        body = self.rfile.read(length).decode("utf-8", "replace")
        return re.sub(r"[^ -~]", " ", body).strip()[:DRAIN_REASON_MAX_CHARS]

    def client_ip(self):
        """The client's address; an IPv4-mapped IPv6 address counts as the IPv4 one."""
        ip = ipaddress.ip_address(self.client_address[0])
        return getattr(ip, "ipv4_mapped", None) or ip

    def respond(self, status, body, content_type="application/json", allow=None):
        """Sends body: a str as it is, anything else as JSON. HEAD gets the headers only."""
        text = body if isinstance(body, str) else json.dumps(body, indent=1) + "\n"
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# --- Main ------------------------------------------------------------------------------------

def metric_tables():
    """Both metric tables, as --list-metrics prints them."""
    return {
        "prometheus": [dict(metric._asdict()) for metric in PROMETHEUS_METRICS],
        "cloudwatch": {
            "namespace": EMF_NAMESPACE,
            "dimensions": EMF_DIMENSIONS,
            "metrics": [dict(metric._asdict()) for metric in EMF_METRICS],
        },
    }


def serve(agent):
    """The systemd service: HTTP in this thread; the EMF publisher and the lifecycle watcher in
    daemon threads beside it. SIGTERM exits 0."""
    settings = agent.settings
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        server = AgentServer(agent)
    except OSError as e:
        log("error: cannot listen on %s:%d: %s" % (settings.agent_address, settings.agent_port, e))
        return 1
    # The tests wait for this line, and read the port from it when WG_HA_AGENT_PORT is 0.
    log("listening on %s:%d (interface %s, store %s, local %s, aws %d, emf %d)" % (
        settings.agent_address, server.server_address[1], settings.interface, settings.state_dir,
        settings.local_dir, settings.aws, settings.emf))
    if settings.emf:
        threading.Thread(target=agent.publish_emf_forever, daemon=True).start()
    if settings.aws:
        threading.Thread(target=Lifecycle(settings, agent.instance, agent.drain).run, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def exit_on_sigterm(signum, frame):
    sys.exit(0)


def main(args):
    if args in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if args == ["--list-metrics"]:
        print(json.dumps(metric_tables(), indent=1))
        return 0
    if args not in ([], ["--check"], ["--emf-once"]):
        sys.stderr.write("wg-ha-agent: unknown arguments: %s\n%s\n" % (" ".join(args), USAGE))
        return 2
    try:
        settings = load_settings(os.environ)
    except SettingsError as e:
        log("error: %s" % e)
        return 1
    agent = Agent(settings)
    if args == ["--check"]:
        health = agent.health.run()
        print(json.dumps(health, indent=1))
        return 0 if health["ok"] else 1
    if args == ["--emf-once"]:
        # No earlier sample: the byte counts are totals since the interface started.
        line, _ = agent.emf_line({})
        agent.publish_emf(line)
        return 0
    return serve(agent)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
