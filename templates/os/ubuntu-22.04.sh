#!/usr/bin/env bash
# wg-ha first boot on Ubuntu 22.04: packages, then EFS over TLS. Ubuntu has no packaged
# amazon-efs-utils, so NFSv4.1 goes through a local stunnel TLS tunnel to the mount target's DNS
# name, verifying its certificate chain and host name (templates/README.md). No IAM authorization
# on this path: the file system policy must allow it (stacks/shared-storage.ts).
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${WG_HA_LIB:-/usr/local/lib/wg-ha}/os/common.sh"
TUNNEL_PORT=20049

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends wireguard-tools nftables qrencode python3 stunnel4 nfs-common ca-certificates
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
configure_tunnel
mount_store "127.0.0.1:/ $WG_HA_STATE_DIR nfs4 nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,port=$TUNNEL_PORT,_netdev,x-systemd.requires=wg-ha-efs-tunnel.service 0 0"
run_install_hooks
