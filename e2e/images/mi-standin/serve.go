package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MI's ports, as the chart declares them.
const (
	portHTTP       = 8290
	portHTTPS      = 8253
	portManagement = 9164
	portInternal   = 9201
)

// Paths below the MI home the chart mounts or the init container writes (charts/wso2-mi/templates/_helpers.tpl).
const (
	deploymentToml = "conf/deployment.toml"
	log4j2         = "conf/log4j2.properties"
	keystoreDir    = "repository/resources/security/imaas"
	truststoreFile = "repository/resources/security/imaas-truststore.jks"
	logsDir        = "repository/logs"
	pidFile        = "wso2carbon.pid"
)

type standin struct {
	tag, image, pod, home string
	started               time.Time
	ready                 atomic.Bool
	draining              atomic.Bool
	inFlight              atomic.Int64
	mu                    sync.Mutex
	requests              map[string]int64 // by port name
	logFile               *os.File
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", name, v, err)
	}
	return d, nil
}

func (s *standin) logf(format string, a ...any) {
	line := fmt.Sprintf("%s mi-standin %s pod=%s tag=%s: %s\n", time.Now().UTC().Format(time.RFC3339Nano),
		"INFO", s.pod, s.tag, fmt.Sprintf(format, a...))
	os.Stdout.WriteString(line)
	if s.logFile != nil {
		s.logFile.WriteString(line)
	}
}

// checkChartMounts fails when a file or variable the chart gives MI is missing or wrong.
func checkChartMounts(home string) error {
	for _, f := range []string{deploymentToml, log4j2} {
		st, err := os.Stat(filepath.Join(home, f))
		if err != nil {
			return fmt.Errorf("chart mount: %w", err)
		}
		if st.Size() == 0 {
			return fmt.Errorf("chart mount: %s is empty", filepath.Join(home, f))
		}
	}
	password := os.Getenv("IMAAS_MI_KEYSTORE_PASSWORD")
	for _, v := range []string{"IMAAS_MI_KEYSTORE_PASSWORD", "IMAAS_MI_MANAGEMENT_USERNAME", "IMAAS_MI_MANAGEMENT_PASSWORD"} {
		if os.Getenv(v) == "" {
			return fmt.Errorf("environment variable %s is not set (the chart takes it from the credentials Secret)", v)
		}
	}
	if _, err := readJKS(filepath.Join(home, keystoreDir, "keystore.jks"), password, true); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	ca, err := readCertFile(filepath.Join(home, keystoreDir, "ca.crt"))
	if err != nil {
		return fmt.Errorf("internal CA: %w", err)
	}
	trust, err := readJKS(filepath.Join(home, truststoreFile), password, true)
	if err != nil {
		return fmt.Errorf("truststore (written by the init container): %w", err)
	}
	found := false
	for _, c := range trust.Trusted {
		found = found || bytes.Equal(c.DER, ca)
	}
	if !found {
		return fmt.Errorf("truststore %s does not hold the internal CA of %s/ca.crt", truststoreFile, keystoreDir)
	}
	return nil
}

// selfSigned makes the HTTPS ports' certificate (the stand-in does not read key entries from the JKS keystore).
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host, Organization: []string{"IMaaS mi-standin (stand-in, not MI)"}},
		DNSNames:     []string{host, "localhost"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func (s *standin) count(port string) {
	s.mu.Lock()
	s.requests[port]++
	s.mu.Unlock()
}

// serviceHandler answers every path of a service port (8290, 8253) with who answered; `?sleep=DURATION`
// (at most 60 s) holds the answer, to have requests in flight during a shutdown.
func (s *standin) serviceHandler(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		s.count(port)
		if v := r.URL.Query().Get("sleep"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > time.Minute {
				http.Error(w, fmt.Sprintf("sleep=%q: a duration up to 60s", v), http.StatusBadRequest)
				return
			}
			time.Sleep(d)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Standin-Tag", s.tag)
		w.Header().Set("X-Standin-Pod", s.pod)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"standin": "mi-standin (a stand-in for WSO2 Micro Integrator, not MI)",
			"image":   s.image,
			"tag":     s.tag,
			"pod":     s.pod,
			"port":    port,
			"method":  r.Method,
			"path":    r.URL.Path,
			"ready":   s.ready.Load() && !s.draining.Load(),
		})
	})
}

func (s *standin) internalHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/liveness", func(w http.ResponseWriter, _ *http.Request) {
		s.count("internal")
		fmt.Fprintln(w, `{"status":"alive"}`)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		s.count("internal")
		switch {
		case s.draining.Load():
			http.Error(w, `{"status":"draining"}`, http.StatusServiceUnavailable)
		case !s.ready.Load():
			http.Error(w, `{"status":"starting"}`, http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, `{"status":"ready"}`)
		}
	})
	mux.HandleFunc("/metric-service/metrics", func(w http.ResponseWriter, _ *http.Request) {
		s.count("internal")
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP mi_standin_info The stand-in MI (not MI); labels name its image tag and pod.\n")
		fmt.Fprintf(w, "# TYPE mi_standin_info gauge\nmi_standin_info{tag=%q,pod=%q} 1\n", s.tag, s.pod)
		up := 0
		if s.ready.Load() && !s.draining.Load() {
			up = 1
		}
		fmt.Fprintf(w, "# HELP mi_standin_ready 1 while /healthz answers 200.\n# TYPE mi_standin_ready gauge\nmi_standin_ready %d\n", up)
		fmt.Fprintf(w, "# HELP mi_standin_in_flight_requests Requests being answered on the service ports.\n")
		fmt.Fprintf(w, "# TYPE mi_standin_in_flight_requests gauge\nmi_standin_in_flight_requests %d\n", s.inFlight.Load())
		fmt.Fprintf(w, "# HELP mi_standin_requests_total Requests answered, by port.\n# TYPE mi_standin_requests_total counter\n")
		s.mu.Lock()
		for _, p := range []string{"http", "https", "management", "internal"} {
			fmt.Fprintf(w, "mi_standin_requests_total{port=%q} %d\n", p, s.requests[p])
		}
		s.mu.Unlock()
		fmt.Fprintf(w, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %d\n", s.started.Unix())
	})
	return mux
}

// managementHandler: MI's management API answers /management/login with a token for its one user
// (the chart's credentials Secret); the stand-in checks the same basic credentials.
func (s *standin) managementHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count("management")
		user, pass, ok := r.BasicAuth()
		if r.URL.Path != "/management/login" {
			http.NotFound(w, r)
			return
		}
		if !ok || user != os.Getenv("IMAAS_MI_MANAGEMENT_USERNAME") || pass != os.Getenv("IMAAS_MI_MANAGEMENT_PASSWORD") ||
			user == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="mi-standin management"`)
			http.Error(w, `{"Error":"Invalid credentials"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "{\"AccessToken\":\"standin-%s\"}\n", s.pod)
	})
}

func serve(args []string) error {
	standalone := false
	for _, a := range args {
		switch a {
		case "--standalone":
			standalone = true
		default:
			return fmt.Errorf("serve: unknown argument %q", a)
		}
	}
	startupDelay, err := envDuration("STANDIN_STARTUP_DELAY", 2*time.Second)
	if err != nil {
		return err
	}
	drainDelay, err := envDuration("STANDIN_DRAIN_DELAY", 0)
	if err != nil {
		return err
	}
	offset := 0
	if v := os.Getenv("STANDIN_PORT_OFFSET"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 || offset > 50000 {
			return fmt.Errorf("STANDIN_PORT_OFFSET=%q: a number from 0 to 50000", v)
		}
	}
	host, _ := os.Hostname()
	s := &standin{
		tag:      os.Getenv("IMAAS_STANDIN_TAG"),
		image:    os.Getenv("IMAAS_STANDIN_IMAGE"),
		pod:      os.Getenv("POD_NAME"),
		home:     os.Getenv("WSO2_SERVER_HOME"),
		started:  time.Now(),
		requests: map[string]int64{},
	}
	if s.pod == "" {
		s.pod = host
	}
	if !standalone {
		if s.home == "" {
			return errors.New("WSO2_SERVER_HOME is not set")
		}
		if err := checkChartMounts(s.home); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(s.home, pidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(s.home, logsDir, "wso2carbon.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		s.logFile = f
	}
	cert, err := selfSigned(host)
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	type listener struct {
		name    string
		port    int
		handler http.Handler
		tls     bool
	}
	listeners := []listener{
		{"http", portHTTP, s.serviceHandler("http"), false},
		{"https", portHTTPS, s.serviceHandler("https"), true},
		{"management", portManagement, s.managementHandler(), true},
		{"internal", portInternal, s.internalHandler(), false},
	}
	servers := make([]*http.Server, 0, len(listeners))
	errs := make(chan error, len(listeners))
	open := func(l listener) error {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", l.port+offset))
		if err != nil {
			return fmt.Errorf("%s port: %w", l.name, err)
		}
		srv := &http.Server{Handler: l.handler, ReadHeaderTimeout: 10 * time.Second}
		if l.tls {
			srv.TLSConfig = tlsConfig
			ln = tls.NewListener(ln, tlsConfig)
		}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("%s port: %w", l.name, err)
			}
		}()
		return nil
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	for _, l := range listeners[:3] {
		if err := open(l); err != nil {
			return err
		}
	}
	s.logf("stand-in MI (not MI) image=%s home=%s: service ports 8290, 8253, management 9164 open; internal API 9201 opens in %s", s.image, s.home, startupDelay)
	select {
	case <-time.After(startupDelay):
	case err := <-errs:
		return err
	case sig := <-signals:
		s.logf("%s before the internal API opened: exiting", sig)
		return nil
	}
	if err := open(listeners[3]); err != nil {
		return err
	}
	s.ready.Store(true)
	s.logf("ready: internal API on 9201 (/liveness, /healthz, /metric-service/metrics)")
	select {
	case err := <-errs:
		return err
	case sig := <-signals:
		s.draining.Store(true)
		s.logf("%s: readiness fails from now on; %d requests in flight; closing listeners in %s", sig, s.inFlight.Load(), drainDelay)
	}
	time.Sleep(drainDelay)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	// The service ports first (each waits for its requests in flight), the internal API last: /healthz
	// answers 503 "draining" until the service ports are closed.
	var wg sync.WaitGroup
	for _, srv := range servers[:len(servers)-1] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				s.logf("shutdown: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := servers[len(servers)-1].Shutdown(ctx); err != nil {
		s.logf("shutdown of the internal API: %v", err)
	}
	s.logf("stopped gracefully after %s: every in-flight request answered", time.Since(s.started).Round(time.Millisecond))
	return nil
}
