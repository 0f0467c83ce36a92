# shellcheck shell=bash
# wg-ha: first-boot install steps shared by the per-OS scripts (sourced; cloud-init runs them as root).
# The per-OS script installs packages and describes the EFS mount; the rest is here.
# shellcheck source-path=SCRIPTDIR source=../lib/wg-ha/common.sh
. "${WG_HA_LIB:-/usr/local/lib/wg-ha}/common.sh"

# Adds the store's fstab line (once) and mounts it, retrying while the mount target's DNS name
# and network come up (bounded). The line carries _netdev, so the mount comes back at every boot.
mount_store() { # FSTAB_LINE
  local attempt
  mkdir -p "$WG_HA_STATE_DIR"
  grep -qsF " $WG_HA_STATE_DIR " /etc/fstab || printf '%s\n' "$1" >>/etc/fstab
  systemctl daemon-reload
  for ((attempt = 1; attempt <= 30; attempt++)); do
    mountpoint -q "$WG_HA_STATE_DIR" && { log "shared store mounted at $WG_HA_STATE_DIR"; return 0; }
    mount "$WG_HA_STATE_DIR" || log "mounting $WG_HA_STATE_DIR failed (attempt $attempt/30), retrying in 10 s"
    mountpoint -q "$WG_HA_STATE_DIR" || sleep 10
  done
  die "cannot mount the shared store at $WG_HA_STATE_DIR"
}

# Hook for later install steps (e.g. the CloudWatch agent): every install.d/*.sh, in name order.
run_install_hooks() {
  local hook
  for hook in "${WG_HA_LIB:-/usr/local/lib/wg-ha}"/install.d/*.sh; do
    [[ -e $hook ]] || continue
    log "running install hook $hook"
    bash "$hook" || log "warning: install hook $hook failed"
  done
}

load_settings
: "${WG_HA_EFS_ID:?WG_HA_EFS_ID is not set in the settings file}" "${WG_HA_REGION:?WG_HA_REGION is not set in the settings file}"
