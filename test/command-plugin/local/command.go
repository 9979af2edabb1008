// Package local implements command:local:Command (and rejects command:local:run).
package local

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Command is command:local:Command.
type Command struct{}

var (
	_ = (infer.CustomResource[CommandInputs, CommandOutputs])((*Command)(nil))
	_ = (infer.CustomCheck[CommandInputs])((*Command)(nil))
	_ = (infer.CustomUpdate[CommandInputs, CommandOutputs])((*Command)(nil))
	_ = (infer.CustomDelete[CommandOutputs])((*Command)(nil))
)

func (c *Command) Annotate(a infer.Annotator) {
	a.Describe(&c, "A local command (test-only stand-in for the official command provider).")
}

// Check is the framework's strict decode, plus a loud refusal of the inputs this test-only
// plugin does not implement (silently ignoring them would make a test pass for nothing).
func (*Command) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CommandInputs], error) {
	inputs, failures, err := infer.DefaultCheck[CommandInputs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[CommandInputs]{Inputs: inputs, Failures: failures}, err
	}
	for name, set := range map[string]bool{"assetPaths": inputs.AssetPaths != nil, "archivePaths": inputs.ArchivePaths != nil} {
		if set {
			failures = append(failures, p.CheckFailure{Property: name, Reason: notImplemented(name)})
		}
	}
	return infer.CheckResponse[CommandInputs]{Inputs: inputs, Failures: failures}, nil
}

func notImplemented(what string) string {
	return fmt.Sprintf("%s is not implemented by the test-only command plugin (test/command-plugin); "+
		"use the official pulumi-resource-command for it", what)
}

// Create runs `create` (if any). ID = name + 8 hex chars. A failed create returns no ID, so
// nothing of the resource reaches the state.
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil {
		return infer.CreateResponse[CommandOutputs]{}, err
	}
	if req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, nil
	}
	if err := run(ctx, *req.Inputs.Create, state.BaseInputs, &state.BaseOutputs); err != nil {
		return infer.CreateResponse[CommandOutputs]{}, err
	}
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, nil
}

// Update runs `update`, else `create`, else nothing (outputs kept). The previous outputs are
// passed in as PULUMI_COMMAND_STDOUT/STDERR.
func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, BaseOutputs: req.State.BaseOutputs}
	if req.DryRun {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	command := req.Inputs.Create
	if req.Inputs.Update != nil {
		command = req.Inputs.Update
	}
	if command == nil {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	err := run(ctx, *command, state.BaseInputs, &state.BaseOutputs)
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

// Delete runs the `delete` stored in state, with the stored environment, dir, interpreter,
// stdin and logging.
func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, run(ctx, *state.Delete, state.BaseInputs, &state.BaseOutputs)
}

// Run is command:local:run, which this plugin does not implement: it fails loudly.
type Run struct{}

type RunInputs struct {
	BaseInputs
	Command string `pulumi:"command"`
}

type RunOutputs struct {
	RunInputs
	BaseOutputs
}

func (*Run) Invoke(ctx context.Context, req infer.FunctionRequest[RunInputs]) (infer.FunctionResponse[RunOutputs], error) {
	return infer.FunctionResponse[RunOutputs]{}, fmt.Errorf("%s", notImplemented("command:local:run"))
}
