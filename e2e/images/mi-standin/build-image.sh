#!/usr/bin/env bash
# Builds the STAND-IN MI image (not MI: see main.go) into an OCI layout, without Docker:
#
#   e2e/images/mi-standin/build-image.sh LAYOUT_DIR [BINARY]
#
# (BINARY: also copy the program there, for use on the host: its keytool and probe.)
# The program is built static from this folder (Go standard library only, CGO_ENABLED=0); Debian's umoci
# assembles the image: the program, busybox-static for the chart's shell commands (the init container's
# `cp -a`, the preStop's `sleep`/`kill`), keytool as a link to the program, an empty JDK cacerts, and MI's
# home (/home/wso2carbon/wso2mi-4.4.0) owned by MI's uid 10802, the image's user. The layout holds the
# tag `base`; e2e/dataplane/standin.ts derives one image per pushed tag from it (IMAAS_STANDIN_TAG set in
# the image config) and pushes it with skopeo.
#
# Needs: go, umoci, busybox-static (Debian). As root with apt-get, missing Debian packages are installed.
set -euo pipefail

out=${1:?usage: build-image.sh LAYOUT_DIR [BINARY]}
bin_out=${2:-}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '%s [mi-standin] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_pkgs=()
command -v umoci >/dev/null || need_pkgs+=(umoci)
command -v skopeo >/dev/null || need_pkgs+=(skopeo)
[[ -x /bin/busybox ]] && /bin/busybox --list 2>/dev/null | grep -qx sh || need_pkgs+=(busybox-static)
if ((${#need_pkgs[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null ||
    die "missing ${need_pkgs[*]}: install them (Debian: apt-get install ${need_pkgs[*]})"
  log "apt-get install ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
file /bin/busybox 2>/dev/null | grep -q 'statically linked' || ! command -v file >/dev/null ||
  die "/bin/busybox is not statically linked (install busybox-static, not busybox)"
command -v go >/dev/null || die "go is not on PATH"
[[ $(id -u) -eq 0 ]] || die "run as root: the image's files must be owned by root and by uid 10802"

MI_HOME=/home/wso2carbon/wso2mi-4.4.0
JAVA_HOME=/opt/java/openjdk
work=$(mktemp -d "${TMPDIR:-/tmp}/mi-standin-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "go build (static, standard library only)"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$work/mi-standin" .)

rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:base"
umoci unpack --image "$out:base" "$work/bundle" >/dev/null
root=$work/bundle/rootfs

install -d -m 0755 "$root/bin" "$root/usr/local/bin" "$root/etc" "$root/home/wso2carbon" \
  "$root$JAVA_HOME/bin" "$root$JAVA_HOME/lib/security"
install -d -m 1777 "$root/tmp"
install -m 0755 "$work/mi-standin" "$root/usr/local/bin/mi-standin"
install -m 0755 /bin/busybox "$root/bin/busybox"
for applet in sh cp rm mv cat ls mkdir sleep kill env id ps echo test grep sed; do
  ln -s busybox "$root/bin/$applet"
done
ln -s /usr/local/bin/mi-standin "$root$JAVA_HOME/bin/keytool"
"$work/mi-standin" jks-empty "$root$JAVA_HOME/lib/security/cacerts" changeit
printf 'root:x:0:0:root:/root:/bin/sh\nwso2carbon:x:10802:10802:MI stand-in:/home/wso2carbon:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nwso2carbon:x:10802:\n' >"$root/etc/group"

# MI's home as WSO2's image lays it out, where the chart reads and mounts things.
for d in bin conf repository/deployment/server/carbonapps repository/resources/security repository/logs; do
  install -d -m 0755 "$root$MI_HOME/$d"
done
cat >"$root$MI_HOME/bin/micro-integrator.sh" <<'EOF'
#!/bin/sh
# STAND-IN: not WSO2 Micro Integrator. Runs the stand-in program in MI's place (e2e/images/mi-standin).
exec /usr/local/bin/mi-standin serve "$@"
EOF
chmod 0755 "$root$MI_HOME/bin/micro-integrator.sh"
printf '# STAND-IN image: the chart mounts the platform deployment.toml over this file.\n[server]\nhostname = "localhost"\n' \
  >"$root$MI_HOME/conf/deployment.toml"
printf '# STAND-IN image: the chart mounts the platform log4j2.properties over this file.\n' >"$root$MI_HOME/conf/log4j2.properties"
printf 'This is the IMaaS sandbox STAND-IN for WSO2 Micro Integrator (e2e/images/mi-standin), not MI.\n' \
  >"$root$MI_HOME/STANDIN-NOT-MI.txt"
cat >"$root/home/wso2carbon/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# STAND-IN entrypoint, in the place of WSO2's: start MI from WSO2_SERVER_HOME (the chart points it at its copy).
exec "${WSO2_SERVER_HOME}/bin/micro-integrator.sh" "$@"
EOF
chmod 0755 "$root/home/wso2carbon/docker-entrypoint.sh"
chown -R 10802:10802 "$root/home/wso2carbon"

umoci repack --image "$out:base" "$work/bundle" >/dev/null
umoci config --image "$out:base" \
  --config.user 10802:10802 \
  --config.workingdir /home/wso2carbon \
  --config.entrypoint /home/wso2carbon/docker-entrypoint.sh \
  --config.env "PATH=$JAVA_HOME/bin:/usr/local/bin:/bin" \
  --config.env "JAVA_HOME=$JAVA_HOME" \
  --config.env "WSO2_SERVER_HOME=$MI_HOME" \
  --config.env "IMAAS_STANDIN=true" \
  --config.exposedports 8290/tcp --config.exposedports 8253/tcp \
  --config.exposedports 9164/tcp --config.exposedports 9201/tcp \
  --config.label "org.opencontainers.image.title=mi-standin" \
  --config.label "org.opencontainers.image.description=STAND-IN for WSO2 Micro Integrator in the IMaaS sandbox (not MI)" \
  --author "IMaaS sandbox" --history.comment "mi-standin: stand-in, not MI"
umoci gc --layout "$out"
[[ -z $bin_out ]] || install -m 0755 "$work/mi-standin" "$bin_out"
log "OCI layout $out:base ($(du -sh "$out" | cut -f1))"
