//go:build tools

// Package tools pins the command this module exists to build; `go build` targets it by import path.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
