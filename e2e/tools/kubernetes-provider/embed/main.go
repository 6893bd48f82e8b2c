// Command embed writes the two files that cmd/pulumi-resource-kubernetes embeds and
// that the provider's repository generates at build time (they are not in its module
// zip): the package schema stamped with the provider version, and the Terraform
// mapping, both compacted.
//
// Usage: go run ./embed VERSION SRC_DIR OUT_DIR
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: embed VERSION SRC_DIR OUT_DIR"))
	}
	version, src, out := os.Args[1], os.Args[2], os.Args[3]

	var schema map[string]json.RawMessage
	readJSON(filepath.Join(src, "schema.json"), &schema)
	v, _ := json.Marshal(version)
	schema["version"] = v
	writeJSON(filepath.Join(out, "schema-embed.json"), schema)

	var mapping json.RawMessage
	readJSON(filepath.Join(src, "terraform-mapping.json"), &mapping)
	var compact bytes.Buffer
	if err := json.Compact(&compact, mapping); err != nil {
		fail(err)
	}
	writeFile(filepath.Join(out, "terraform-mapping-embed.json"), compact.Bytes())
}

func readJSON(path string, into any) {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		fail(fmt.Errorf("%s: %w", path, err))
	}
}

func writeJSON(path string, value any) {
	data, err := json.Marshal(value)
	if err != nil {
		fail(err)
	}
	writeFile(path, data)
}

func writeFile(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "embed:", err)
	os.Exit(1)
}
