package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"

	"awareness.test/command-plugin/util"
)

var defaultInterpreter = []string{"/bin/sh", "-c"}

// run runs one command the way the official plugin does and, on success, stores the trimmed
// stdout/stderr in out. Each output line (per `logging`) becomes an ephemeral info diagnostic.
func run(ctx context.Context, command string, in BaseInputs, out *BaseOutputs) error {
	args := defaultInterpreter
	if in.Interpreter != nil && len(*in.Interpreter) > 0 {
		args = *in.Interpreter
	}
	args = append(append([]string{}, args...), command)

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if in.Dir != nil {
		cmd.Dir = *in.Dir
	} else {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		cmd.Dir = wd
	}
	cmd.Env = os.Environ()
	if in.Environment != nil {
		for k, v := range *in.Environment {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%s", k, v))
		}
	}
	if in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv {
		if out.Stdout != "" {
			cmd.Env = append(cmd.Env, util.PulumiCommandStdout+"="+out.Stdout)
		}
		if out.Stderr != "" {
			cmd.Env = append(cmd.Env, util.PulumiCommandStderr+"="+out.Stderr)
		}
	}
	if in.Stdin != nil && len(*in.Stdin) > 0 {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}

	var stdout, stderr, combined bytes.Buffer
	combinedWriter := &util.ConcurrentWriter{Writer: &combined}
	logReader, logWriter := io.Pipe()
	stdoutWriters := []io.Writer{&stdout, combinedWriter}
	if in.Logging.ShouldLogStdout() {
		stdoutWriters = append(stdoutWriters, logWriter)
	}
	stderrWriters := []io.Writer{&stderr, combinedWriter}
	if in.Logging.ShouldLogStderr() {
		stderrWriters = append(stderrWriters, logWriter)
	}
	cmd.Stdout = io.MultiWriter(stdoutWriters...)
	cmd.Stderr = io.MultiWriter(stderrWriters...)

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		logger := p.GetLogger(ctx)
		_ = util.LogLines(logReader, logger.InfoStatus)
	}()

	err := cmd.Run()
	logWriter.Close()
	<-logged
	if err != nil {
		return util.RunError(err, command, combined.String())
	}
	out.Stdout = util.TrimOutput(stdout.String())
	out.Stderr = util.TrimOutput(stderr.String())
	return nil
}
