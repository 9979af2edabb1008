// Package provider assembles the resources and functions of the test-only command plugin.
package provider

import (
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi-go-provider/middleware/schema"

	"awareness.test/command-plugin/local"
	"awareness.test/command-plugin/remote"
)

const (
	// Name is the package name the engine asks for (`command:local:Command`, ...).
	Name = "command"
	// Version is the official plugin version this one stands in for; @pulumi/command 1.2.1
	// asks the engine for exactly this version.
	Version = "1.2.1"
)

// New builds the provider: the same resource and function tokens as the official plugin.
// Parts the official plugin has but this one does not implement are still registered, so that
// using them fails with an explicit "not implemented" error instead of being ignored.
func New() p.Provider {
	return infer.Provider(infer.Options{
		Metadata: schema.Metadata{
			DisplayName: "Command (test-only stand-in)",
			Description: "Test-only implementation of the command provider for offline end-to-end tests.",
		},
		Resources: []infer.InferredResource{
			infer.Resource(&local.Command{}),
			infer.Resource(&remote.Command{}),
			infer.Resource(&remote.CopyToRemote{}),
			infer.Resource(&remote.CopyFile{}),
		},
		Functions: []infer.InferredFunction{
			infer.Function(&local.Run{}),
		},
	})
}
