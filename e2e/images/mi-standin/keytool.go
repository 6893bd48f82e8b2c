package main

// The stand-in's `keytool` ($JAVA_HOME/bin/keytool is a link to this program): the three commands the
// chart's init container and the tests use, with keytool's own option names —
//
//	-importkeystore -srckeystore F -destkeystore F [-deststoretype JKS] -deststorepass[:env] P [-srcstorepass[:env] P] [-noprompt]
//	-importcert -alias A -file F -keystore F [-storetype JKS] -storepass[:env] P [-noprompt]
//	-list -keystore F -storepass[:env] P
//
// Stores are JKS with trusted certificates only; anything else is refused with a message, never ignored.

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

type keytoolArgs struct {
	command string
	opts    map[string]string
}

// Options that take no value.
var keytoolFlags = map[string]bool{"-noprompt": true, "-v": true, "-rfc": true}

func parseKeytool(args []string) (*keytoolArgs, error) {
	k := &keytoolArgs{opts: map[string]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-importkeystore", "-importcert", "-list":
			if k.command != "" {
				return nil, fmt.Errorf("two commands: %s and %s", k.command, a)
			}
			k.command = a
			continue
		}
		if keytoolFlags[a] {
			continue
		}
		if !strings.HasPrefix(a, "-") {
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("option %s needs a value", a)
		}
		value := args[i+1]
		i++
		name, env, isEnv := strings.Cut(a, ":")
		if isEnv {
			if env != "env" {
				return nil, fmt.Errorf("option %s: only :env is supported", a)
			}
			v, ok := os.LookupEnv(value)
			if !ok {
				return nil, fmt.Errorf("option %s: environment variable %s is not set", a, value)
			}
			value = v
		}
		k.opts[name] = value
	}
	if k.command == "" {
		return nil, errors.New("no command (-importkeystore, -importcert or -list)")
	}
	return k, nil
}

func (k *keytoolArgs) need(names ...string) error {
	for _, n := range names {
		if _, ok := k.opts[n]; !ok {
			return fmt.Errorf("%s needs %s", k.command, n)
		}
	}
	for _, n := range []string{"-storetype", "-deststoretype", "-srcstoretype"} {
		if t, ok := k.opts[n]; ok && !strings.EqualFold(t, "JKS") {
			return fmt.Errorf("%s %s: the stand-in keytool writes and reads JKS only", n, t)
		}
	}
	return nil
}

// readCertFile reads one certificate, PEM or DER.
func readCertFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: PEM block %q, not CERTIFICATE", path, block.Type)
		}
		der = block.Bytes
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return der, nil
}

func runKeytool(args []string) error {
	k, err := parseKeytool(args)
	if err != nil {
		return err
	}
	switch k.command {
	case "-importkeystore":
		if err := k.need("-srckeystore", "-destkeystore", "-deststorepass"); err != nil {
			return err
		}
		// Like keytool with -noprompt and no source password: read the source without its digest check.
		srcPass, verify := k.opts["-srcstorepass"]
		src, err := readJKS(k.opts["-srckeystore"], srcPass, verify)
		if err != nil {
			return err
		}
		if len(src.KeyAliases) > 0 {
			return fmt.Errorf("%s holds key entries (%s): the stand-in keytool imports trusted certificates only",
				k.opts["-srckeystore"], strings.Join(src.KeyAliases, ", "))
		}
		dest := k.opts["-destkeystore"]
		var certs []trustedCert
		if _, err := os.Stat(dest); err == nil {
			d, err := readJKS(dest, k.opts["-deststorepass"], true)
			if err != nil {
				return err
			}
			certs = d.Trusted
		}
		certs = append(certs, src.Trusted...)
		if err := os.WriteFile(dest, encodeJKS(certs, k.opts["-deststorepass"]), 0o600); err != nil {
			return err
		}
		fmt.Printf("Import command completed: %d entries successfully imported, 0 entries failed or cancelled\n",
			len(src.Trusted))
		return nil
	case "-importcert":
		if err := k.need("-alias", "-file", "-keystore", "-storepass"); err != nil {
			return err
		}
		der, err := readCertFile(k.opts["-file"])
		if err != nil {
			return err
		}
		store := k.opts["-keystore"]
		var certs []trustedCert
		if _, err := os.Stat(store); err == nil {
			s, err := readJKS(store, k.opts["-storepass"], true)
			if err != nil {
				return err
			}
			certs = s.Trusted
		}
		for _, c := range certs {
			if c.Alias == k.opts["-alias"] {
				return fmt.Errorf("certificate not imported, alias <%s> already exists", c.Alias)
			}
		}
		certs = append(certs, trustedCert{Alias: k.opts["-alias"], Created: time.Now(), DER: der})
		if err := os.WriteFile(store, encodeJKS(certs, k.opts["-storepass"]), 0o600); err != nil {
			return err
		}
		fmt.Println("Certificate was added to keystore")
		return nil
	default: // -list
		if err := k.need("-keystore", "-storepass"); err != nil {
			return err
		}
		s, err := readJKS(k.opts["-keystore"], k.opts["-storepass"], true)
		if err != nil {
			return err
		}
		fmt.Printf("Keystore type: JKS\n\nYour keystore contains %d entries\n\n", len(s.Trusted)+len(s.KeyAliases))
		for _, c := range s.Trusted {
			cert, err := x509.ParseCertificate(c.DER)
			subject := "(unparsable)"
			if err == nil {
				subject = cert.Subject.String()
			}
			fmt.Printf("%s, trustedCertEntry, %s\n", c.Alias, subject)
		}
		for _, a := range s.KeyAliases {
			fmt.Printf("%s, PrivateKeyEntry\n", a)
		}
		return nil
	}
}
