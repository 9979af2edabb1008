// Package remote implements command:remote:Command and command:remote:CopyToRemote over SSH
// (and refuses command:remote:CopyFile and connection.proxy).
package remote

import (
	"context"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"awareness.test/command-plugin/common"
)

type Command struct{}

var (
	_ = (infer.CustomResource[CommandInputs, CommandOutputs])((*Command)(nil))
	_ = (infer.CustomCheck[CommandInputs])((*Command)(nil))
	_ = (infer.CustomUpdate[CommandInputs, CommandOutputs])((*Command)(nil))
	_ = (infer.CustomDelete[CommandOutputs])((*Command)(nil))
)

type CommandInputs struct {
	common.ResourceInputs
	// The whole connection is secret (its keys and passwords are nested secrets too).
	Connection             *Connection        `pulumi:"connection" provider:"secret"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	Stdin                  *string            `pulumi:"stdin,optional"`
	Logging                *Logging           `pulumi:"logging,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
}

type BaseOutputs struct {
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

type CommandOutputs struct {
	CommandInputs
	BaseOutputs
}

func (c *Command) Annotate(a infer.Annotator) {
	a.Describe(&c, "A command run on a remote host over SSH (test-only stand-in for the official command provider).")
}

func (*Command) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CommandInputs], error) {
	inputs, failures, err := infer.DefaultCheck[CommandInputs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[CommandInputs]{Inputs: inputs, Failures: failures}, err
	}
	return infer.CheckResponse[CommandInputs]{Inputs: inputs, Failures: connectionFailures(inputs.Connection)}, nil
}

// Create dials only when there is a command to run.
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil {
		return infer.CreateResponse[CommandOutputs]{}, err
	}
	if req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, nil
	}
	if err := state.run(ctx, *req.Inputs.Create); err != nil {
		return infer.CreateResponse[CommandOutputs]{}, err
	}
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, nil
}

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
	err := state.run(ctx, *command)
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, state.run(ctx, *state.Delete)
}

// CopyFile is command:remote:CopyFile (deprecated upstream), which this plugin refuses.
type CopyFile struct{}

type CopyFileInputs struct {
	Connection *Connection `pulumi:"connection" provider:"secret"`
	Triggers   *[]any      `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	LocalPath  string      `pulumi:"localPath"`
	RemotePath string      `pulumi:"remotePath"`
}

type CopyFileOutputs struct {
	CopyFileInputs
}

func (*CopyFile) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CopyFileInputs], error) {
	return infer.CheckResponse[CopyFileInputs]{Failures: []p.CheckFailure{{
		Property: "localPath", Reason: notImplemented("command:remote:CopyFile"),
	}}}, nil
}

func (*CopyFile) Create(ctx context.Context, req infer.CreateRequest[CopyFileInputs]) (infer.CreateResponse[CopyFileOutputs], error) {
	return infer.CreateResponse[CopyFileOutputs]{}, errorf(notImplemented("command:remote:CopyFile"))
}
