package main

// `mi-standin probe`: connection tests from inside a pod (`kubectl exec POD -- /usr/local/bin/mi-standin
// probe tcp 10.0.0.5:8290`). One line per attempt ("ok …" / "fail …"); exit 0 only when every attempt
// succeeded, 1 when any failed, 2 on bad usage.

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func probe(args []string) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Second, "time allowed for one attempt")
	count := fs.Int("count", 1, "attempts")
	interval := fs.Duration("interval", 0, "pause between attempts")
	status := fs.Int("status", 0, "HTTP status that counts as success (default: any 2xx)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) != 2 || (rest[0] != "tcp" && rest[0] != "http") || *count < 1 {
		fmt.Fprintln(os.Stderr, "usage: mi-standin probe [-timeout D] [-count N] [-interval D] [-status CODE] tcp HOST:PORT | http URL")
		return 2
	}
	kind, target := rest[0], rest[1]
	client := &http.Client{
		Timeout: *timeout,
		// The stand-in's HTTPS ports carry a self-signed certificate; the probe tests reachability.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
	}
	failed := 0
	for i := 0; i < *count; i++ {
		if i > 0 {
			time.Sleep(*interval)
		}
		t := time.Now()
		var detail string
		var err error
		if kind == "tcp" {
			var c net.Conn
			c, err = net.DialTimeout("tcp", target, *timeout)
			if err == nil {
				c.Close()
				detail = "connected"
			}
		} else {
			var resp *http.Response
			resp, err = client.Get(target)
			if err == nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
				resp.Body.Close()
				detail = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
				okStatus := resp.StatusCode >= 200 && resp.StatusCode < 300
				if *status != 0 {
					okStatus = resp.StatusCode == *status
				}
				if !okStatus {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		}
		ms := float64(time.Since(t).Microseconds()) / 1000
		if err != nil {
			failed++
			fmt.Printf("fail %s %s %.1fms: %v %s\n", kind, target, ms, err, detail)
		} else {
			fmt.Printf("ok %s %s %.1fms: %s\n", kind, target, ms, detail)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}
