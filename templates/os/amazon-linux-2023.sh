#!/usr/bin/env bash
# wg-ha first boot on Amazon Linux 2023 (the default OS): packages (kernel 6.x has the wireguard
# module), then EFS with the mount helper over TLS and IAM authorization: the mount is signed with
# the instance role, the only principal the file-system policy allows (stacks/shared-storage.ts).
# The CloudWatch agent comes from the distro repository (dnf checks its signature).
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "${WG_HA_LIB:-/usr/local/lib/wg-ha}/os/common.sh"

dnf install -y -q wireguard-tools nftables python3 amazon-efs-utils
dnf install -y -q qrencode || log "warning: qrencode is not available: wg-client show --qr will not work"
# rsyslog is not installed by default here: it copies the units' journal lines to files (os/common.sh).
install_cloudwatch_agent() { dnf install -y -q amazon-cloudwatch-agent rsyslog logrotate; }
start_cloudwatch_agent
mount_store "$WG_HA_EFS_ID:/ $WG_HA_STATE_DIR efs _netdev,tls,iam 0 0"
run_install_hooks
