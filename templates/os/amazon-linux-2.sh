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

install_cloudwatch_agent() { yum install -y -q amazon-cloudwatch-agent rsyslog logrotate; }
start_cloudwatch_agent
mount_store "$WG_HA_EFS_ID:/ $WG_HA_STATE_DIR efs _netdev,tls,iam 0 0"
run_install_hooks
