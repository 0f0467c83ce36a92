# shellcheck shell=bash
# wg-ha: the server's nftables ruleset, table `inet wg_ha` (sourced by wg-ha-bootstrap after
# common.sh, never run). check_firewall_settings validates every value the ruleset is built from;
# render_firewall prints the ruleset and has no side effect, so both are tested on their own.
#
# What a connected client reaches (docs/security.md, "What a connected client can reach"):
#   - the routes clients are given (WG_HA_CLIENT_ALLOWED_IPS; per-client routes must lie inside
#     them) and the DNS servers they are given, on port 53 only;
#   - ICMP echo of the tunnel address, and replies to what it opened; nothing else of the server
#     it is connected to: host services listening on 0.0.0.0 never answer on the tunnel;
#   - never the VPC (WG_HA_VPC_CIDR): it holds only infrastructure (every server and its agent
#     port, the EFS mount targets, the NAT gateways, the load balancer, VPC endpoints, the VPC
#     resolver). Blocking the whole CIDR is one fixed value from the config, where a list of its
#     members (mount targets, servers the Auto Scaling group replaces) would drift. The networks
#     clients need (peered VPCs, on-premises) are routes beyond it. The VPC resolver answers only
#     if the clients' DNS points at it (the default: client_dns = [] means VPC base + 2);
#   - never the link-local ranges: instance metadata and credentials (169.254.169.254,
#     fd00:ec2::254), the ECS task endpoint (169.254.170.2), AWS's DNS and time addresses;
#   - another client only when WG_HA_CLIENT_TO_CLIENT=1.
# Deny by default for IPv4 and IPv6: the forward policy is drop and a client's packet is accepted
# only by an allow rule, after every deny rule, so an allowed route never opens a denied address.
# A refused packet is answered "administratively prohibited" (ICMP), so the client's program fails
# at once instead of hanging; spoofed and invalid packets are dropped silently.

FIREWALL_TABLE="wg_ha"
FIREWALL_REFUSE="reject with icmpx type admin-prohibited"
# Link-local (RFC 3927, RFC 4291) and AWS's IPv6 service prefix: IMDS, DNS and time live there.
FIREWALL_NEVER4=(169.254.0.0/16)
FIREWALL_NEVER6=(fe80::/10 fd00:ec2::/64)

# The value as it may appear in an error line: control characters replaced, length bounded.
fw_shown() { REPLY="${1//[^[:print:]]/?}" && REPLY="'${REPLY:0:80}'"; }
fw_bad() { # KEY VALUE WHY
  fw_shown "$2"
  die "$1 $REPLY $3"
}

valid_ip4() { ip4_to_int "$1"; }

valid_ip4_cidr() { # CIDR with host bits cleared
  local addr="${1%/*}" bits="${1##*/}"
  [[ $1 == */* && $bits =~ ^[0-9]{1,2}$ ]] && ((10#$bits <= 32)) && ip4_to_int "$addr" || return 1
  ((bits == 0 ? REPLY == 0 : (REPLY & ((1 << (32 - bits)) - 1)) == 0))
}

# "g:g:g" (1-4 hex digits each) or "" -> REPLY = the number of groups; fails on a bad group.
fw_ip6_groups() {
  local colons
  REPLY=0
  [[ -n $1 ]] || return 0
  [[ $1 =~ ^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*$ ]] || return 1
  colons="${1//[^:]/}" && REPLY=$((${#colons} + 1))
}

valid_ip6() { # ADDRESS: 8 groups, or fewer around exactly one '::' (no embedded IPv4 form)
  local head tail
  [[ $1 =~ ^[0-9A-Fa-f:]{2,39}$ ]] || return 1
  if [[ $1 == *::* ]]; then
    head="${1%%::*}" tail="${1#*::}"
    [[ $tail != *::* ]] && fw_ip6_groups "$head" || return 1
    head="$REPLY"
    fw_ip6_groups "$tail" && ((head + REPLY <= 7))
  else
    fw_ip6_groups "$1" && ((REPLY == 8))
  fi
}

valid_ip6_cidr() {
  local bits="${1##*/}"
  [[ $1 == */* && $bits =~ ^[0-9]{1,3}$ ]] && ((10#$bits <= 128)) && valid_ip6 "${1%/*}"
}

valid_cidr() { valid_ip4_cidr "$1" || valid_ip6_cidr "$1"; }
valid_ip() { valid_ip4 "$1" || valid_ip6 "$1"; }

# KEY CHECK: every comma-separated entry of ${!KEY} passes CHECK (an empty list is allowed).
fw_check_list() {
  local key="$1" check="$2" entry
  local -a entries
  [[ ${!key} != ,* && ${!key} != *, ]] || fw_bad "$key" "${!key}" "has an empty entry (a leading or trailing comma)"
  IFS=, read -r -a entries <<<"${!key}"
  for entry in "${entries[@]}"; do
    "$check" "$entry" || fw_bad "$key" "$entry" "is not $([[ $check == valid_cidr ]] && echo "a CIDR (e.g. 0.0.0.0/0, 10.20.0.0/16, ::/0)" || echo "an IP address")"
  done
}

# Dies naming the first bad setting (key, value, what is allowed): the ruleset is built from these
# values only, so none can add a rule of its own. Needs load_settings (common.sh) first.
check_firewall_settings() {
  [[ -n $WG_HA_VPC_CIDR ]] || die "WG_HA_VPC_CIDR is not set: the firewall needs the VPC's IPv4 CIDR (e.g. 10.40.0.0/16)"
  valid_ip4_cidr "$WG_HA_VPC_CIDR" || fw_bad WG_HA_VPC_CIDR "$WG_HA_VPC_CIDR" "is not an IPv4 CIDR with host bits cleared (e.g. 10.40.0.0/16)"
  [[ $WG_HA_CLIENT_TO_CLIENT =~ ^[01]$ ]] || fw_bad WG_HA_CLIENT_TO_CLIENT "$WG_HA_CLIENT_TO_CLIENT" "must be 0 or 1"
  if [[ -n $WG_HA_CLIENT_CIDR6 ]]; then
    valid_ip6_cidr "$WG_HA_CLIENT_CIDR6" || fw_bad WG_HA_CLIENT_CIDR6 "$WG_HA_CLIENT_CIDR6" "is not an IPv6 CIDR (e.g. fd42:42:42::/64)"
    valid_ip6_cidr "$WG_HA_SERVER_ADDRESS6" ||
      fw_bad WG_HA_SERVER_ADDRESS6 "$WG_HA_SERVER_ADDRESS6" "must be the servers' IPv6 tunnel address with its prefix (e.g. fd42:42:42::1/64) when WG_HA_CLIENT_CIDR6 is set"
  elif [[ -n $WG_HA_SERVER_ADDRESS6 ]]; then
    fw_bad WG_HA_SERVER_ADDRESS6 "$WG_HA_SERVER_ADDRESS6" "is set but WG_HA_CLIENT_CIDR6 is not"
  fi
  fw_check_list WG_HA_CLIENT_ALLOWED_IPS valid_cidr
  fw_check_list WG_HA_CLIENT_DNS valid_ip
}

# Allow/deny rules for one address family, one per entry (no sets: older nft rejects overlaps).
fw_rules() { # FAMILY(ip|ip6) VERDICT MATCH ENTRY...
  local family="$1" verdict="$2" match="$3" entry
  shift 3
  for entry; do
    if [[ $family == ip && $entry != *:* ]] || [[ $family == ip6 && $entry == *:* ]]; then
      printf '\t\t%s daddr %s %s%s\n' "$family" "$entry" "$match" "$verdict"
    fi
  done
}

# shellcheck disable=SC2153 # WG_HA_CLIENT_CIDR and WG_HA_SERVER_ADDRESS: checked by load_settings
# EGRESS -> the ruleset on stdout: one table, deleted and re-created in the same transaction
# (nft -f applies it atomically: never a moment without rules).
render_firewall() {
  local egress="$1" pool server4 dns
  local -a routes=() resolvers=()
  int_to_ip4 "$POOL_NET" && pool="$REPLY/${WG_HA_CLIENT_CIDR##*/}"
  server4="${WG_HA_SERVER_ADDRESS%/*}"
  [[ -z $WG_HA_CLIENT_ALLOWED_IPS ]] || IFS=, read -r -a routes <<<"$WG_HA_CLIENT_ALLOWED_IPS"
  [[ -z $WG_HA_CLIENT_DNS ]] || IFS=, read -r -a resolvers <<<"$WG_HA_CLIENT_DNS"
  cat <<EOF
table inet $FIREWALL_TABLE
delete table inet $FIREWALL_TABLE
table inet $FIREWALL_TABLE {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "$IFACE" jump tunnel_to_host
	}
	chain tunnel_to_host {
		ct state established,related accept
		ip daddr $server4 icmp type echo-request accept
EOF
  [[ -z $WG_HA_SERVER_ADDRESS6 ]] || printf '\t\tip6 daddr %s icmpv6 type echo-request accept\n' "${WG_HA_SERVER_ADDRESS6%/*}"
  cat <<EOF
		$FIREWALL_REFUSE
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state invalid drop
		iifname "$IFACE" jump from_clients
		oifname "$IFACE" ct state established,related accept
	}
	chain from_clients {
		ip saddr != $pool drop
EOF
  if [[ -n $WG_HA_CLIENT_CIDR6 ]]; then
    printf '\t\tip6 saddr != %s drop\n' "$WG_HA_CLIENT_CIDR6"
  else
    printf '\t\tmeta nfproto ipv6 drop\n'
  fi
  printf '\t\toifname "%s" %s\n' "$IFACE" "$( ((WG_HA_CLIENT_TO_CLIENT)) && echo accept || echo "$FIREWALL_REFUSE")"
  fw_rules ip "$FIREWALL_REFUSE" "" "${FIREWALL_NEVER4[@]}"
  fw_rules ip6 "$FIREWALL_REFUSE" "" "${FIREWALL_NEVER6[@]}"
  for dns in udp tcp; do
    fw_rules ip accept "$dns dport 53 " "${resolvers[@]}"
    fw_rules ip6 accept "$dns dport 53 " "${resolvers[@]}"
  done
  fw_rules ip "$FIREWALL_REFUSE" "" "$WG_HA_VPC_CIDR"
  fw_rules ip accept "" "${routes[@]}"
  fw_rules ip6 accept "" "${routes[@]}"
  cat <<EOF
		$FIREWALL_REFUSE
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		ip saddr $pool oifname "$egress" masquerade
EOF
  [[ -z $WG_HA_CLIENT_CIDR6 ]] || printf '\t\tip6 saddr %s oifname "%s" masquerade\n' "$WG_HA_CLIENT_CIDR6" "$egress"
  printf '\t}\n}\n'
}
