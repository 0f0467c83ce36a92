# shellcheck shell=bash
# wg-ha: functions shared by wg-ha-bootstrap, wg-ha-sync and wg-client (sourced, never run).
# Settings, shared store and local state: templates/CONTRACT.md. Needs bash >= 4.2.

PROGRAM="${0##*/}"
export LC_ALL=C
umask 077

log() {
  if [[ -n ${JOURNAL_STREAM:-} ]]; then
    printf '%s: %s\n' "$PROGRAM" "$*" >&2 # journald adds the time
  else
    printf '%(%Y-%m-%dT%H:%M:%S)T %s: %s\n' -1 "$PROGRAM" "$*" >&2
  fi
}
die() { log "error: $*"; exit 1; }

# Seconds since the epoch with a fraction, without a fork where bash has EPOCHREALTIME (>= 5.0).
now() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then REPLY="${EPOCHREALTIME/,/.}"; else REPLY="$(date +%s.%N)"; fi
}

# Reads KEY=value lines from the settings file; a variable already in the environment wins.
load_settings() {
  local file="${WG_HA_CONFIG:-/etc/wg-ha/wg-ha.env}" line key
  [[ -r $file ]] || die "settings file $file is missing or unreadable (set WG_HA_CONFIG)"
  while IFS= read -r line || [[ -n $line ]]; do
    line="${line%$'\r'}"
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^(WG_[A-Z0-9_]+)=(.*)$ ]] || die "$file: not a WG_*=value line: $line"
    key="${BASH_REMATCH[1]}"
    [[ -n ${!key+set} ]] || printf -v "$key" '%s' "${BASH_REMATCH[2]}"
    export "${key?}"
  done <"$file"
  : "${WG_INTERFACE:=wg0}" "${WG_PORT:=51820}" "${WG_HA_KEEPALIVE:=25}"
  : "${WG_HA_STATE_DIR:=/mnt/wg-ha}" "${WG_HA_LOCAL_DIR:=/var/lib/wg-ha}" "${WG_HA_AWS:=0}" "${WG_HA_AGENT_PORT:=8080}"
  : "${WG_HA_SYNC_INTERVAL_SECONDS:=1}" "${WG_HA_SYNC_HEARTBEAT_SECONDS:=5}" "${WG_HA_SYNC_VERIFY_SECONDS:=60}"
  : "${WG_HA_CLIENT_ALLOWED_IPS:=0.0.0.0/0}" "${WG_HA_CLIENT_DNS:=}" "${WG_HA_ENDPOINT:=}"
  : "${WG_HA_SERVER_ADDRESS6:=}" "${WG_HA_CLIENT_CIDR6:=}" "${WG_HA_NAT_INTERFACE:=}"
  : "${WG_HA_VPC_CIDR:=}" "${WG_HA_CLIENT_TO_CLIENT:=0}" # the firewall (firewall.sh) checks them
  [[ -n ${WG_HA_CLIENT_CIDR:-} ]] || die "WG_HA_CLIENT_CIDR is not set in $file"
  [[ -n ${WG_HA_SERVER_ADDRESS:-} ]] || die "WG_HA_SERVER_ADDRESS is not set in $file"
  [[ $WG_INTERFACE =~ ^[A-Za-z0-9_.=+-]{1,15}$ ]] || die "WG_INTERFACE '$WG_INTERFACE' is not a valid interface name"
  # shellcheck disable=SC2034 # used by the scripts that source this file
  IFACE="$WG_INTERFACE" STATE="$WG_HA_STATE_DIR" LOCAL="$WG_HA_LOCAL_DIR"
  # shellcheck disable=SC2034
  LOCK="$STATE/.lock" CONF="$LOCAL/$WG_INTERFACE.conf" STATUS="$LOCAL/sync-status.json"
  parse_pool
}

# A WireGuard key: 44 characters of base64 that decode to exactly 32 bytes.
valid_key() {
  [[ ${#1} -eq 44 && $1 =~ ^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$ ]]
}

ip4_to_int() { # DOTTED -> REPLY
  local -a o
  [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  IFS=. read -r -a o <<<"$1"
  ((o[0] < 256 && o[1] < 256 && o[2] < 256 && o[3] < 256)) || return 1
  REPLY=$(((10#${o[0]} << 24) + (10#${o[1]} << 16) + (10#${o[2]} << 8) + 10#${o[3]}))
}
int_to_ip4() { REPLY="$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }

# The client pool: POOL_FIRST..POOL_LAST usable host numbers, SERVER_IP excluded by callers.
parse_pool() {
  local net="${WG_HA_CLIENT_CIDR%/*}" bits="${WG_HA_CLIENT_CIDR##*/}"
  if ! [[ $bits =~ ^[0-9]+$ ]] || ((bits < 8 || bits > 30)) || ! ip4_to_int "$net"; then
    die "WG_HA_CLIENT_CIDR '$WG_HA_CLIENT_CIDR' is not an IPv4 CIDR between /8 and /30"
  fi
  POOL_NET=$((REPLY & ~((1 << (32 - bits)) - 1) & 0xFFFFFFFF))
  POOL_FIRST=$((POOL_NET + 1)) POOL_LAST=$((POOL_NET + (1 << (32 - bits)) - 2))
  ip4_to_int "${WG_HA_SERVER_ADDRESS%/*}" || die "WG_HA_SERVER_ADDRESS '$WG_HA_SERVER_ADDRESS' is not an IPv4 address"
  SERVER_IP="$REPLY"
}

# The IPv6 address of host number N of WG_HA_CLIENT_CIDR6 (a prefix ending in '::', e.g. fd42:42:42::/64).
ip6_for_offset() {
  local prefix="${WG_HA_CLIENT_CIDR6%/*}"
  [[ $prefix == *:: ]] || die "WG_HA_CLIENT_CIDR6 '$WG_HA_CLIENT_CIDR6' must end in '::' (e.g. fd42:42:42::/64)"
  printf -v REPLY '%s%x/128' "$prefix" "$1"
}

# Takes the store lock (an exclusive flock needs a file opened for writing on NFS). Released on exit.
lock_store() {
  exec 9>>"$LOCK" || die "cannot open the lock file $LOCK (is the shared store mounted?)"
  flock -x -w "${WG_HA_LOCK_TIMEOUT_SECONDS:-60}" 9 || die "timed out waiting for the lock $LOCK"
}

# render | write_atomic PATH [fsync]: temp file in the same directory, then rename (atomic on NFS).
write_atomic() {
  local tmp
  tmp="$(mktemp "${1%/*}/.${1##*/}.XXXXXX")" || die "cannot create a temp file next to $1"
  if cat >"$tmp" && { [[ -z ${2:-} ]] || sync "$tmp"; } && mv -f "$tmp" "$1"; then return 0; fi
  rm -f "$tmp"
  die "cannot write $1"
}

# Marks a change of the peer set for every server's sync loop (caller holds the lock).
bump_version() {
  local host
  host="$(hostname 2>/dev/null || echo unknown)"
  now
  printf '%s %s %s\n' "$REPLY" "$host" "$$" | write_atomic "$STATE/version" fsync
}

# Prints the peer files' paths, one per line, in C order (no exec: no argument-length limit).
list_peer_files() {
  local -a files
  shopt -s nullglob
  files=("$STATE"/peers/*.peer)
  shopt -u nullglob
  ((${#files[@]} == 0)) || printf '%s\n' "${files[@]}"
}

# Reads the peer files named on stdin, validates each and prints a [Peer] section per good one.
# On stderr: "SKIP<TAB>file<TAB>reason" per bad file, "USED<TAB>ip" per address seen (even in a
# bad file, so it is never handed out twice), "KEY<TAB>key" per public key, and "COUNT<TAB>n".
# shellcheck disable=SC2016 # awk program, not shell
PEER_AWK='
function ip2int(s,   p, i) {
  if (split(s, p, ".") != 4) return -1
  for (i = 1; i <= 4; i++) if (p[i] !~ /^[0-9]+$/ || p[i] + 0 > 255) return -1
  return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4]
}
function validkey(k) { return length(k) == 44 && k ~ /^[A-Za-z0-9+\/]+=$/ && substr(k, 43, 1) ~ /[AEIMQUYcgkosw048]/ }
function skip(why) { printf "SKIP\t%s\t%s\n", base, why > "/dev/stderr" }
{
  file = $0; base = file; sub(/.*\//, "", base); bad = ""
  split("", kv)
  while ((r = (getline line < file)) > 0) {
    sub(/\r$/, "", line)
    if (line ~ /^[a-z_]+=/) kv[substr(line, 1, index(line, "=") - 1)] = substr(line, index(line, "=") + 1)
    else if (line !~ /^[ \t]*(#.*)?$/) bad = "malformed line"
  }
  close(file)
  if (r < 0) { skip("unreadable"); next }
  split(kv["address"], a, ","); ip = a[1]; sub(/\/32$/, "", ip); n = ip2int(ip)
  if (n >= 0) printf "USED\t%d\n", n > "/dev/stderr"
  if (validkey(kv["public_key"])) printf "KEY\t%s\n", kv["public_key"] > "/dev/stderr"
  if (bad != "") { skip(bad); next }
  if (kv["name"] "" == "" || kv["name"] ".peer" != base) { skip("name does not match the file name"); next }
  if (!validkey(kv["public_key"])) { skip("public_key is not a WireGuard key"); next }
  if ("preshared_key" in kv && !validkey(kv["preshared_key"])) { skip("preshared_key is not a WireGuard key"); next }
  if (a[1] !~ /\/32$/ || n < first || n > last || n == server) { skip("address " a[1] " is not a /32 in the client pool"); next }
  if (a[2] != "" && a[2] !~ /^[0-9a-fA-F:]+\/128$/) { skip("address " a[2] " is not an IPv6 /128"); next }
  if (kv["public_key"] in keyof) { skip("public_key already used by " keyof[kv["public_key"]]); next }
  if (n in ipof) { skip("address " ip " already used by " ipof[n]); next }
  keyof[kv["public_key"]] = base; ipof[n] = base; count++
  printf "\n[Peer]\n# %s\nPublicKey = %s\n", kv["name"], kv["public_key"]
  if (kv["preshared_key"] != "") printf "PresharedKey = %s\n", kv["preshared_key"]
  printf "AllowedIPs = %s\n", kv["address"]
}
END { printf "COUNT\t%d\n", count > "/dev/stderr" }
'

# list_peer_files | read_peers REPORT: peer sections on stdout, the report (see PEER_AWK) to REPORT.
read_peers() {
  awk -v first="$POOL_FIRST" -v last="$POOL_LAST" -v server="$SERVER_IP" "$PEER_AWK" 2>"$1"
}
