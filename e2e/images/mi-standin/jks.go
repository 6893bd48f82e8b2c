package main

// Java KeyStore (JKS) files, the format MI reads its keystore and truststore in: enough of it to write a
// truststore of trusted certificates, read one back and check a store's integrity digest under its
// password — what the chart's init container asks of `keytool` and what the stand-in checks at start.
//
// Layout: magic 0xFEEDFEED, version 2, entry count, entries, then SHA-1 over (password as UTF-16BE,
// the bytes of "Mighty Aphrodite", everything before the digest).

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
	"unicode/utf16"
)

const (
	jksMagic         = 0xFEEDFEED
	jksTagPrivateKey = 1
	jksTagTrusted    = 2
)

// trustedCert is one trusted-certificate entry of a JKS store.
type trustedCert struct {
	Alias   string
	Created time.Time
	DER     []byte
}

// jksStore is a parsed store: its trusted certificates and the aliases of key entries (kept only by name).
type jksStore struct {
	Trusted    []trustedCert
	KeyAliases []string
}

func jksDigest(password string, body []byte) []byte {
	h := sha1.New()
	for _, u := range utf16.Encode([]rune(password)) {
		h.Write([]byte{byte(u >> 8), byte(u)})
	}
	h.Write([]byte("Mighty Aphrodite"))
	h.Write(body)
	return h.Sum(nil)
}

func writeUTF(b *bytes.Buffer, s string) {
	_ = binary.Write(b, binary.BigEndian, uint16(len(s)))
	b.WriteString(s)
}

// encodeJKS writes a store holding trusted certificates only.
func encodeJKS(certs []trustedCert, password string) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(jksMagic))
	_ = binary.Write(&b, binary.BigEndian, uint32(2))
	_ = binary.Write(&b, binary.BigEndian, uint32(len(certs)))
	for _, c := range certs {
		_ = binary.Write(&b, binary.BigEndian, uint32(jksTagTrusted))
		writeUTF(&b, c.Alias)
		_ = binary.Write(&b, binary.BigEndian, uint64(c.Created.UnixMilli()))
		writeUTF(&b, "X.509")
		_ = binary.Write(&b, binary.BigEndian, uint32(len(c.DER)))
		b.Write(c.DER)
	}
	b.Write(jksDigest(password, b.Bytes()))
	return b.Bytes()
}

type reader struct {
	data []byte
	off  int
}

var errShort = errors.New("file ends inside an entry")

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || r.off+n > len(r.data) {
		return nil, errShort
	}
	p := r.data[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) u16() (uint16, error) {
	p, err := r.take(2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(p), nil
}

func (r *reader) u32() (uint32, error) {
	p, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(p), nil
}

func (r *reader) utf() (string, error) {
	n, err := r.u16()
	if err != nil {
		return "", err
	}
	p, err := r.take(int(n))
	return string(p), err
}

func (r *reader) cert() ([]byte, error) {
	if typ, err := r.utf(); err != nil {
		return nil, err
	} else if typ != "X.509" {
		return nil, fmt.Errorf("certificate type %q (only X.509)", typ)
	}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	return r.take(int(n))
}

// decodeJKS parses a store; with verify, the integrity digest must match `password`.
func decodeJKS(data []byte, password string, verify bool) (*jksStore, error) {
	if len(data) < 12+sha1.Size {
		return nil, errors.New("not a JKS keystore: too short")
	}
	body, digest := data[:len(data)-sha1.Size], data[len(data)-sha1.Size:]
	r := &reader{data: body}
	magic, _ := r.u32()
	version, _ := r.u32()
	if magic != jksMagic {
		return nil, fmt.Errorf("not a JKS keystore: magic %#x", magic)
	}
	if version != 2 {
		return nil, fmt.Errorf("JKS version %d (only 2)", version)
	}
	if verify && !bytes.Equal(jksDigest(password, body), digest) {
		return nil, errors.New("keystore was tampered with, or password was incorrect")
	}
	count, err := r.u32()
	if err != nil {
		return nil, err
	}
	store := &jksStore{}
	for i := uint32(0); i < count; i++ {
		tag, err := r.u32()
		if err != nil {
			return nil, err
		}
		alias, err := r.utf()
		if err != nil {
			return nil, err
		}
		ts, err := r.take(8)
		if err != nil {
			return nil, err
		}
		created := time.UnixMilli(int64(binary.BigEndian.Uint64(ts)))
		switch tag {
		case jksTagTrusted:
			der, err := r.cert()
			if err != nil {
				return nil, fmt.Errorf("entry %q: %w", alias, err)
			}
			store.Trusted = append(store.Trusted, trustedCert{Alias: alias, Created: created, DER: der})
		case jksTagPrivateKey:
			n, err := r.u32()
			if err == nil {
				_, err = r.take(int(n))
			}
			var chain uint32
			if err == nil {
				chain, err = r.u32()
			}
			for j := uint32(0); err == nil && j < chain; j++ {
				_, err = r.cert()
			}
			if err != nil {
				return nil, fmt.Errorf("entry %q: %w", alias, err)
			}
			store.KeyAliases = append(store.KeyAliases, alias)
		default:
			return nil, fmt.Errorf("entry %q: unknown tag %d", alias, tag)
		}
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("%d bytes after the last entry", len(body)-r.off)
	}
	return store, nil
}

func readJKS(path, password string, verify bool) (*jksStore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := decodeJKS(data, password, verify)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
