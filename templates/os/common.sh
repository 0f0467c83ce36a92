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

# ---- CloudWatch agent (templates/README.md, "CloudWatch") ---------------------------------------
# The per-OS script defines install_cloudwatch_agent (its package source) and calls
# start_cloudwatch_agent. Nothing here is fatal: the VPN works without CloudWatch, and the
# agents-silent alarm (stacks/monitoring.ts) reports servers whose metrics are missing.
CW_AGENT_DIR="${WG_HA_CW_AGENT_DIR:-/opt/aws/amazon-cloudwatch-agent}"
LOG_DIR="${WG_HA_LOG_DIR:-/var/log/wg-ha}"

cw_fail() { log "CloudWatch agent: $*"; return 1; }

# TEMPLATE -> the agent's JSON config on stdout: full-line // comments dropped, @WG_HA_LOG_GROUP@
# and @WG_HA_EMF_FILE@ replaced with this server's settings (validated: they land in JSON strings).
render_cloudwatch_config() {
  local line out=""
  [[ ${WG_HA_LOG_GROUP:-} =~ ^[A-Za-z0-9_./#-]{1,512}$ ]] || cw_fail "WG_HA_LOG_GROUP '${WG_HA_LOG_GROUP:-}' is not a log group name" || return 1
  [[ ${WG_HA_EMF_FILE:-} =~ ^/[A-Za-z0-9_./-]{1,1000}$ ]] || cw_fail "WG_HA_EMF_FILE '${WG_HA_EMF_FILE:-}' is not an absolute file path" || return 1
  [[ -r $1 ]] || cw_fail "cannot read $1" || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*// ]] && continue
    line=${line//@WG_HA_LOG_GROUP@/$WG_HA_LOG_GROUP}
    line=${line//@WG_HA_EMF_FILE@/$WG_HA_EMF_FILE}
    [[ $line != *@WG_HA_* ]] || cw_fail "unknown placeholder in $1: $line" || return 1
    out+="$line"$'\n'
  done <"$1"
  printf '%s' "$out"
}

# The log directory (the EMF file), rsyslog with the rule that copies the units' journal lines to
# files (/etc/rsyslog.d/30-wg-ha.conf, shipped with the templates), the rendered config, and the
# agent (re)started with it (idempotent).
configure_cloudwatch_agent() {
  local config="$CW_AGENT_DIR/etc/wg-ha.json" json
  install -d -m 0750 "$LOG_DIR" || cw_fail "cannot create $LOG_DIR" || return 1
  { systemctl enable rsyslog.service && systemctl restart rsyslog.service; } || cw_fail "cannot (re)start rsyslog" || return 1
  json="$(render_cloudwatch_config "${WG_HA_LIB:-/usr/local/lib/wg-ha}/cloudwatch/amazon-cloudwatch-agent.jsonc")" || return 1
  { printf '%s\n' "$json" >"$config.tmp" && mv -f "$config.tmp" "$config"; } || cw_fail "cannot write $config" || return 1
  "$CW_AGENT_DIR/bin/amazon-cloudwatch-agent-ctl" -a fetch-config -m ec2 -c "file:$config" -s ||
    cw_fail "amazon-cloudwatch-agent-ctl refused $config" || return 1
}

start_cloudwatch_agent() {
  if install_cloudwatch_agent && configure_cloudwatch_agent; then
    log "CloudWatch agent started: metrics to namespace WgHa, logs to $WG_HA_LOG_GROUP"
  else
    log "warning: the CloudWatch agent is not running: this server sends no metrics or logs to CloudWatch"
  fi
}

load_settings
: "${WG_HA_EFS_ID:?WG_HA_EFS_ID is not set in the settings file}" "${WG_HA_REGION:?WG_HA_REGION is not set in the settings file}"
