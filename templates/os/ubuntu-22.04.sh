#!/usr/bin/env bash
# wg-ha first boot on Ubuntu 22.04: packages, then EFS over TLS. No released package brings
# amazon-efs-utils (the only client that signs a mount with IAM) to Ubuntu 22.04: AWS says other
# distributions "require building the package from source" (github.com/aws/efs-utils README; 2.x
# needs a Rust toolchain), prebuilt .debs are an open request (aws/efs-utils issue #111), and the
# Systems Manager package AmazonEFSUtils lists Ubuntu up to 20.04. So NFSv4.1 goes through a local
# stunnel TLS tunnel to the mount target's DNS name, verifying its certificate chain and host name
# (templates/README.md): encrypted but ANONYMOUS. The file system policy must allow anonymous
# mounts (stacks/shared-storage.ts); the controls are the EFS security group and the servers'
# firewall, which never lets a VPN client into the VPC (docs/security.md, "Mounts"). The CloudWatch
# agent is not in Ubuntu's archive either: AWS's .deb, installed only if its signature verifies.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${WG_HA_LIB:-/usr/local/lib/wg-ha}/os/common.sh"
TUNNEL_PORT=20049
# AWS's signing key for the CloudWatch agent packages, as the CloudWatch user guide publishes it
# ("Verifying the signature of the CloudWatch agent package").
CW_AGENT_KEY_FINGERPRINT=937616F3450B7D806CBD9725D58167303B789C72
CW_AGENT_KEY_URL=https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends wireguard-tools nftables qrencode python3 stunnel4 nfs-common ca-certificates
}

download() { # URL FILE: HTTPS only, TLS 1.2 or later (AWS's download buckets require it), bounded retries
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
    --connect-timeout 10 --max-time 300 --retry 5 --retry-delay 3 -o "$2" "$1" || cw_fail "cannot download $1"
}

# DIR holding key.gpg, agent.deb and agent.deb.sig: succeeds only if the signature is valid and made
# by the pinned key (a key file holding other keys does not help: VALIDSIG names the signer).
verify_cloudwatch_agent_signature() {
  local home="$1/gnupg" fpr
  mkdir -m 0700 "$home" || return 1
  gpg --batch --quiet --homedir "$home" --import "$1/key.gpg" 2>/dev/null || cw_fail "cannot import $CW_AGENT_KEY_URL" || return 1
  fpr="$(gpg --batch --homedir "$home" --with-colons --fingerprint | awk -F: '$1 == "fpr" { print $10; exit }')"
  [[ $fpr == "$CW_AGENT_KEY_FINGERPRINT" ]] || cw_fail "signing key fingerprint '$fpr' is not $CW_AGENT_KEY_FINGERPRINT" || return 1
  gpg --batch --homedir "$home" --status-fd 1 --verify "$1/agent.deb.sig" "$1/agent.deb" 2>/dev/null |
    awk -v fpr="$CW_AGENT_KEY_FINGERPRINT" '$1 == "[GNUPG:]" && $2 == "VALIDSIG" && ($3 == fpr || $NF == fpr) { ok = 1 } END { exit !ok }' ||
    cw_fail "the signature of amazon-cloudwatch-agent.deb does not verify: not installing it"
}

# From AWS's download bucket in this region (the user guide's download links), verified, then dpkg
# (-E: a rerun with the same version changes nothing).
install_cloudwatch_agent() {
  local arch url dir ok=1
  apt-get install -y -q --no-install-recommends curl gnupg rsyslog logrotate || return 1
  arch="$(dpkg --print-architecture)" || return 1
  url="https://amazoncloudwatch-agent-$WG_HA_REGION.s3.$WG_HA_REGION.amazonaws.com/ubuntu/$arch/latest/amazon-cloudwatch-agent.deb"
  dir="$(mktemp -d)" || return 1
  download "$CW_AGENT_KEY_URL" "$dir/key.gpg" && download "$url" "$dir/agent.deb" && download "$url.sig" "$dir/agent.deb.sig" &&
    verify_cloudwatch_agent_signature "$dir" && dpkg -i -E "$dir/agent.deb" && ok=0
  rm -rf "$dir"
  return "$ok"
}

configure_tunnel() {
  local host="$WG_HA_EFS_ID.efs.$WG_HA_REGION.amazonaws.com"
  cat >/etc/stunnel/wg-ha-efs.conf <<CONF
foreground = yes
pid =
[efs]
client = yes
accept = 127.0.0.1:$TUNNEL_PORT
connect = $host:2049
sslVersion = TLSv1.2
verifyChain = yes
CAfile = /etc/ssl/certs/ca-certificates.crt
checkHost = $host
renegotiation = no
delay = yes
TIMEOUTbusy = 20
TIMEOUTclose = 0
TIMEOUTidle = 70
CONF
  cat >/etc/systemd/system/wg-ha-efs-tunnel.service <<UNIT
[Unit]
Description=wg-ha: TLS tunnel (stunnel) to EFS $WG_HA_EFS_ID
Wants=network-online.target
After=network-online.target
Before=remote-fs-pre.target

[Service]
ExecStart=/usr/bin/stunnel4 /etc/stunnel/wg-ha-efs.conf
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now wg-ha-efs-tunnel.service
}

install_packages
start_cloudwatch_agent
configure_tunnel
mount_store "127.0.0.1:/ $WG_HA_STATE_DIR nfs4 nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,port=$TUNNEL_PORT,_netdev,x-systemd.requires=wg-ha-efs-tunnel.service 0 0"
run_install_hooks
