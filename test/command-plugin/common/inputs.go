// Package common holds the inputs shared by local and remote commands, as in the official
// plugin's provider/pkg/provider/common.
package common

import "github.com/pulumi/pulumi-go-provider/infer"

// ResourceInputs are the lifecycle commands and the replacement triggers.
type ResourceInputs struct {
	// replaceOnChanges: a trigger change replaces the resource, even when `update` is set.
	Triggers *[]any  `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create   *string `pulumi:"create,optional"`
	Update   *string `pulumi:"update,optional"`
	Delete   *string `pulumi:"delete,optional"`
}

func (c *ResourceInputs) Annotate(a infer.Annotator) {
	a.Describe(&c.Triggers, "Trigger a resource replacement on changes to any of these values.")
	a.Describe(&c.Create, "The command to run on create.")
	a.Describe(&c.Update, "The command to run on update; if unset, create runs again. "+
		"PULUMI_COMMAND_STDOUT/STDERR hold the previous outputs.")
	a.Describe(&c.Delete, "The command to run on delete. PULUMI_COMMAND_STDOUT/STDERR hold the previous outputs.")
}
