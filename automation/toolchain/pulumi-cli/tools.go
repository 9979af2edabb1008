//go:build tools

// Package tools pins the Pulumi engine CLI this project builds when no
// fitting `pulumi` is on PATH (see scripts/toolchain.sh).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
