#!/bin/sh
# Credentials for a local `docker run` of an MI image built FROM mi-base, which (like the platform's chart) has
# no default keystore, password or management user. Writes into DIR (created, mode 700):
#   keystore.jks          a self-signed RSA 2048 key pair, alias "mi", for localhost and 127.0.0.1
#   imaas-truststore.jks  the JDK's public CAs plus that certificate (both stores under one random password)
#   mi-local.env          IMAAS_MI_KEYSTORE_PASSWORD, IMAAS_MI_MANAGEMENT_USERNAME, IMAAS_MI_MANAGEMENT_PASSWORD
#                         (fresh random passwords, mode 600), for `docker run --env-file`
# and prints the docker run options. Needs a JDK's keytool (KEYTOOL, else the one on PATH) and its cacerts
# (CACERTS, else <JDK>/lib/security/cacerts). Nothing here is used in the cluster: there cert-manager issues the
# keystore and the platform generates the passwords (charts/wso2-mi/README.md).
#
# usage: images/mi-base/local-keystore.sh DIR [MI_VERSION]
set -eu
dir=${1:?usage: local-keystore.sh DIR [MI_VERSION]}
version=${2:-4.4.0}
keytool=${KEYTOOL:-$(command -v keytool || true)}
[ -n "$keytool" ] || { echo "local-keystore.sh: no keytool on PATH; install a JDK or set KEYTOOL" >&2; exit 2; }
if [ -z "${CACERTS:-}" ]; then
  jdk=$(dirname "$(dirname "$(readlink -f "$keytool")")")
  CACERTS="$jdk/lib/security/cacerts"
fi
[ -r "$CACERTS" ] || { echo "local-keystore.sh: no JDK cacerts at $CACERTS; set CACERTS" >&2; exit 2; }
[ ! -e "$dir/keystore.jks" ] || { echo "local-keystore.sh: $dir/keystore.jks exists; use a new directory" >&2; exit 2; }

random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32; }
umask 077
mkdir -p "$dir"
IMAAS_MI_KEYSTORE_PASSWORD=$(random)
export IMAAS_MI_KEYSTORE_PASSWORD
"$keytool" -genkeypair -noprompt -alias mi -keyalg RSA -keysize 2048 -validity 90 \
  -dname "CN=localhost" -ext "SAN=dns:localhost,ip:127.0.0.1" \
  -keystore "$dir/keystore.jks" -storetype JKS \
  -storepass:env IMAAS_MI_KEYSTORE_PASSWORD -keypass:env IMAAS_MI_KEYSTORE_PASSWORD >/dev/null 2>&1
"$keytool" -exportcert -rfc -alias mi -keystore "$dir/keystore.jks" \
  -storepass:env IMAAS_MI_KEYSTORE_PASSWORD -file "$dir/mi.crt" >/dev/null 2>&1
"$keytool" -importkeystore -noprompt -srckeystore "$CACERTS" -srcstorepass changeit \
  -destkeystore "$dir/imaas-truststore.jks" -deststoretype JKS \
  -deststorepass:env IMAAS_MI_KEYSTORE_PASSWORD >/dev/null 2>&1
"$keytool" -importcert -noprompt -alias imaas-local -file "$dir/mi.crt" \
  -keystore "$dir/imaas-truststore.jks" -storetype JKS -storepass:env IMAAS_MI_KEYSTORE_PASSWORD >/dev/null 2>&1
rm -f "$dir/mi.crt"
{
  echo "IMAAS_MI_KEYSTORE_PASSWORD=$IMAAS_MI_KEYSTORE_PASSWORD"
  echo "IMAAS_MI_MANAGEMENT_USERNAME=imaas-ops"
  echo "IMAAS_MI_MANAGEMENT_PASSWORD=$(random)"
} >"$dir/mi-local.env"
# MI runs as uid 10802 in the container and reads the bind-mounted stores (they are password-protected); the
# directory stays private on the host, and the env file is read by docker on the host only.
chmod 644 "$dir/keystore.jks" "$dir/imaas-truststore.jks"
chmod 600 "$dir/mi-local.env"

home=/home/wso2carbon/wso2mi-$version
abs=$(cd "$dir" && pwd)
echo "--env-file $abs/mi-local.env" \
  "-v $abs/keystore.jks:$home/repository/resources/security/imaas/keystore.jks:ro" \
  "-v $abs/imaas-truststore.jks:$home/repository/resources/security/imaas-truststore.jks:ro"
