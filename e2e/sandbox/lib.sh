# shellcheck shell=bash
# Helpers shared by up.sh and down.sh (sourced; expects STATE, log and die).

# free_port: a free TCP port on 127.0.0.1, below the ephemeral range so outgoing
# connections cannot take it, and not one handed out earlier in this run.
_taken_ports=" "
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    [[ "$_taken_ports" == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      _taken_ports+="$p "; echo "$p"; return
    fi
  done
  die "no free port found"
}

# start NAME CMD...: runs CMD detached (own session) with its log in logs/NAME.log,
# its pid in run/NAME.pid and its command line (NUL-separated) in run/NAME.cmd, from
# which restart.sh starts it again.
start() {
  local name="$1"; shift
  log "starting $name"
  printf '%s\0' "$@" > "$STATE/run/$name.cmd"
  setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! > "$STATE/run/$name.pid"
}

# is_ours PID: the process exists and its command line names this sandbox's state dir,
# so a recycled pid is never signalled.
is_ours() {
  local pid="$1"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$STATE/"
}

# started_and_ours PID: is_ours, allowing a just-forked child a moment to exec: until it does, its
# /proc/PID/cmdline is still this script's, and a loaded machine once took long enough for check_alive to
# report a live kube-apiserver as exited (with an empty log).
started_and_ours() {
  local pid="$1" i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    is_ours "$pid" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.3
  done
  return 1
}

# check_alive: dies with the tail of its log if a started process has exited.
check_alive() {
  local f name
  for f in "$STATE"/run/*.pid; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f" .pid)"
    started_and_ours "$(cat "$f")" || { tail -n 20 "$STATE/logs/$name.log" >&2 || true; die "$name exited: see $STATE/logs/$name.log"; }
  done
}

# sandbox_running STATE_DIR: every process recorded there is alive.
sandbox_running() {
  local f any=1
  for f in "$STATE"/run/*.pid; do
    [[ -e "$f" ]] || return 1
    is_ours "$(cat "$f")" || return 1
    any=0
  done
  return $any
}

# wait_for DESC TIMEOUT_SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local desc="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    check_alive
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $desc"
    sleep 0.5
  done
  log "$desc: ok"
}

# write_kubeconfig FILE SERVER CA_FILE TOKEN
write_kubeconfig() {
  cat > "$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: imaas-sandbox
  cluster:
    server: $2
    certificate-authority: $3
users:
- name: imaas-admin
  user:
    token: $4
contexts:
- name: imaas-sandbox
  context:
    cluster: imaas-sandbox
    user: imaas-admin
current-context: imaas-sandbox
KUBECONFIG
  chmod 600 "$1"
}
