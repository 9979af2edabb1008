// Command pulumi-resource-command is a TEST-ONLY stand-in for the official command provider
// plugin v1.2.1 (github.com/pulumi/pulumi-command), built on the same framework
// (pulumi-go-provider's infer package) so that Check, Diff, defaults, secrets and error
// shapes come from the same code. Behaviour follows /work/shared/COMMAND-PROVIDER-FACTS.md.
// Production uses the official plugin; this one is only put on PATH by the e2e tests on
// machines that cannot install it.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"awareness.test/command-plugin/provider"
)

func main() {
	err := p.RunProvider(context.Background(), provider.Name, provider.Version, provider.New())
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s\n", err)
		os.Exit(1)
	}
}
