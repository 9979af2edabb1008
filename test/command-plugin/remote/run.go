package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"

	"awareness.test/command-plugin/util"
)

func errorf(msg string) error { return errors.New(msg) }

// run opens a new SSH connection and session, sends `environment` (a refusal is an error)
// and PULUMI_COMMAND_STDOUT/STDERR (a refusal is only a warning), runs the command and, on
// success, stores the trimmed outputs.
func (c *CommandOutputs) run(ctx context.Context, command string) error {
	client, err := c.Connection.Dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()

	if c.Environment != nil {
		for k, v := range *c.Environment {
			if err := session.Setenv(k, v); err != nil {
				return setenvError(ctx, k, err, true)
			}
		}
	}
	if c.AddPreviousOutputInEnv == nil || *c.AddPreviousOutputInEnv {
		if c.Stdout != "" {
			if err := session.Setenv(util.PulumiCommandStdout, c.Stdout); err != nil {
				_ = setenvError(ctx, util.PulumiCommandStdout, err, false)
			}
		}
		if c.Stderr != "" {
			if err := session.Setenv(util.PulumiCommandStderr, c.Stderr); err != nil {
				_ = setenvError(ctx, util.PulumiCommandStderr, err, false)
			}
		}
	}
	if c.Stdin != nil && len(*c.Stdin) > 0 {
		session.Stdin = strings.NewReader(*c.Stdin)
	}

	var stdout, stderr, combined bytes.Buffer
	combinedWriter := &util.ConcurrentWriter{Writer: &combined}
	logReader, logWriter := io.Pipe()
	stdoutWriters := []io.Writer{&stdout, combinedWriter}
	if c.Logging.ShouldLogStdout() {
		stdoutWriters = append(stdoutWriters, logWriter)
	}
	stderrWriters := []io.Writer{&stderr, combinedWriter}
	if c.Logging.ShouldLogStderr() {
		stderrWriters = append(stderrWriters, logWriter)
	}
	session.Stdout = io.MultiWriter(stdoutWriters...)
	session.Stderr = io.MultiWriter(stderrWriters...)

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		logger := p.GetLogger(ctx)
		_ = util.LogLines(logReader, logger.InfoStatus)
	}()

	err = session.Run(command)
	logWriter.Close()
	<-logged
	if err != nil {
		return util.RunError(err, command, combined.String())
	}
	c.BaseOutputs = BaseOutputs{Stdout: util.TrimOutput(stdout.String()), Stderr: util.TrimOutput(stderr.String())}
	return nil
}

// setenvError logs the official plugin's AcceptEnv hint (an error for user variables, a
// warning for PULUMI_COMMAND_*) and returns the wrapped error.
func setenvError(ctx context.Context, key string, err error, fatal bool) error {
	msg := fmt.Sprintf(`Unable to set '%s'. This only works if your SSH server is configured to accept
	these variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, you could
	prefix the command itself with the variables in the form 'VAR=value command'`, key)
	if fatal {
		p.GetLogger(ctx).Error(msg)
	} else {
		p.GetLogger(ctx).Warning(msg)
	}
	return fmt.Errorf("could not set environment variable %q: %w", key, err)
}
