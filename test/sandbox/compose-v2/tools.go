//go:build tools

// Package tools pins docker compose v2 for the sandbox. The compose module's own
// go.mod has exclude directives, so `go install ...@version` refuses it; building
// it through this wrapper module works (see SANDBOX-RECIPE.md section 4).
package tools

import _ "github.com/docker/compose/v2/cmd"
