package local

import (
	"github.com/pulumi/pulumi-go-provider/infer"

	"awareness.test/command-plugin/common"
)

// CommonInputs are shared by the resource and the (unimplemented) run invoke.
type CommonInputs struct {
	Stdin   *string  `pulumi:"stdin,optional"`
	Logging *Logging `pulumi:"logging,optional"`
}

// BaseInputs: how to run a command. No defaults are written into state (the interpreter
// and addPreviousOutputInEnv defaults apply at run time only).
type BaseInputs struct {
	CommonInputs
	Interpreter            *[]string          `pulumi:"interpreter,optional"`
	Dir                    *string            `pulumi:"dir,optional"`
	Environment            *map[string]string `pulumi:"environment,optional"`
	AssetPaths             *[]string          `pulumi:"assetPaths,optional"`
	ArchivePaths           *[]string          `pulumi:"archivePaths,optional"`
	AddPreviousOutputInEnv *bool              `pulumi:"addPreviousOutputInEnv,optional"`
}

func (c *BaseInputs) Annotate(a infer.Annotator) {
	a.Describe(&c.Interpreter, "The program and arguments to run the command. Defaults to [\"/bin/sh\", \"-c\"].")
	a.Describe(&c.Dir, "The directory to run the command in; defaults to the provider's working directory.")
	a.Describe(&c.Environment, "Additional environment variables available to the command's process.")
	a.Describe(&c.AssetPaths, "NOT IMPLEMENTED by the test-only plugin (rejected by Check).")
	a.Describe(&c.ArchivePaths, "NOT IMPLEMENTED by the test-only plugin (rejected by Check).")
	a.Describe(&c.AddPreviousOutputInEnv, "Pass the previous stdout/stderr as PULUMI_COMMAND_STDOUT/STDERR. Defaults to true.")
}

// BaseOutputs: the official plugin also has `assets`/`archive` outputs, filled only when
// assetPaths/archivePaths are set; this plugin refuses those inputs, so it has neither.
type BaseOutputs struct {
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

func (c *BaseOutputs) Annotate(a infer.Annotator) {
	a.Describe(&c.Stdout, "The standard output of the command's process")
	a.Describe(&c.Stderr, "The standard error of the command's process")
}

// CommandInputs is named so that validation errors read `... on 'local.CommandInputs'`.
type CommandInputs struct {
	common.ResourceInputs
	BaseInputs
}

type CommandOutputs struct {
	CommandInputs
	BaseOutputs
}
