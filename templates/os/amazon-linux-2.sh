#!/usr/bin/env bash
# wg-ha first boot on Amazon Linux 2 (kernel 5.10 AMI: it has the wireguard module; the tools
# come from EPEL). Accepted, not recommended: Amazon Linux 2 reached end of life on 2026-06-30.
# The CloudWatch agent comes from the distro repository (yum checks its signature).
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${WG_HA_LIB:-/usr/local/lib/wg-ha}/os/common.sh"

log "WARNING: Amazon Linux 2 reached end of life on 2026-06-30 (no more security updates): move to amazon-linux-2023 or ubuntu-22.04"
amazon-linux-extras install -y epel
yum install -y -q wireguard-tools nftables python3 amazon-efs-utils
yum install -y -q qrencode || log "warning: qrencode is not available: wg-client show --qr will not work"

# systemd 219 has no StandardOutput=append: (it warns and keeps the journal), so rsyslog, which
# Amazon Linux 2 runs, writes the units' lines to the files the CloudWatch agent collects.
install_cloudwatch_agent() {
  yum install -y -q amazon-cloudwatch-agent logrotate rsyslog || return 1
  install -d -m 0750 /var/log/wg-ha || return 1
  cat >/etc/rsyslog.d/30-wg-ha.conf <<'CONF' || return 1
template(name="WgHaUnitLog" type="string" string="/var/log/wg-ha/%programname%.log")
if $programname == "wg-ha-bootstrap" or $programname == "wg-ha-sync" or $programname == "wg-ha-agent" then {
  action(type="omfile" dynaFile="WgHaUnitLog" fileCreateMode="0640")
}
CONF
  systemctl restart rsyslog
}
start_cloudwatch_agent
mount_store "$WG_HA_EFS_ID:/ $WG_HA_STATE_DIR efs _netdev,tls,iam 0 0"
run_install_hooks
