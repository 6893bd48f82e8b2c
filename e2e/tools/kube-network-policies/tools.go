//go:build tools

// Package tools only records the main package that build.sh compiles, so that
// `go mod tidy` keeps its dependencies in go.mod and go.sum.
package tools

import (
	_ "sigs.k8s.io/kube-network-policies/cmd"
)
