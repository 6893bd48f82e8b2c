// mi-standin: a STAND-IN for WSO2 Micro Integrator in the sandbox's data plane. It is not MI and runs no
// integration: it answers on MI's ports what the platform's chart (charts/wso2-mi) and the platform ask
// of MI — the internal API's /liveness, /healthz and /metric-service/metrics on 9201, the HTTP (8290) and
// HTTPS (8253) service ports, the management API (9164) — checks the files and variables the chart mounts
// (deployment.toml, the keystore under its password, the truststore the init container builds), stops
// gracefully on SIGTERM, and names its image tag and pod in every answer so a client can tell versions
// apart. It proves the platform's mechanics (images, probes, rollouts, policies), not MI.
//
//	mi-standin serve [--standalone]        run the stand-in (--standalone: skip the chart's mount checks)
//	mi-standin probe [flags] tcp HOST:PORT try a TCP connection; exit 0 when it connects, 1 when not
//	mi-standin probe [flags] http URL      GET URL; exit 0 on a 2xx answer (or -status), 1 otherwise
//	mi-standin jks-empty FILE PASSWORD     write an empty JKS store (the image's JDK cacerts)
//	keytool ...                            (as $JAVA_HOME/bin/keytool) see keytool.go
//
// Environment of `serve`: WSO2_SERVER_HOME (the MI home), POD_NAME, IMAAS_STANDIN_TAG and
// IMAAS_STANDIN_IMAGE (set in the image config at push), STANDIN_STARTUP_DELAY (time before the
// internal API opens, as MI opens it after deploying its CApps; default 2s), STANDIN_DRAIN_DELAY
// (time between failing readiness and closing the listeners on SIGTERM; default 0s),
// STANDIN_PORT_OFFSET (added to every port: for running several on one host in tests), and the chart's
// IMAAS_MI_KEYSTORE_PASSWORD, IMAAS_MI_MANAGEMENT_USERNAME, IMAAS_MI_MANAGEMENT_PASSWORD.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "keytool" {
		exit(runKeytool(args), "keytool error: ")
	}
	if len(args) == 0 {
		usage()
	}
	switch args[0] {
	case "serve":
		exit(serve(args[1:]), "mi-standin: cannot start: ")
	case "probe":
		os.Exit(probe(args[1:]))
	case "jks-empty":
		if len(args) != 3 {
			usage()
		}
		exit(os.WriteFile(args[1], encodeJKS(nil, args[2]), 0o644), "jks-empty: ")
	case "keytool":
		exit(runKeytool(args[1:]), "keytool error: ")
	default:
		usage()
	}
}

func exit(err error, prefix string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%v\n", prefix, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: mi-standin serve [--standalone] | probe [-timeout D] [-count N] [-interval D] [-status CODE] tcp HOST:PORT|http URL | jks-empty FILE PASSWORD | keytool ARGS")
	os.Exit(2)
}
