// Package util holds the pure helpers shared by local and remote commands: output trimming,
// the error text of a failed command, the per-line output logger and the dial back-off.
package util

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

const (
	PulumiCommandStdout = "PULUMI_COMMAND_STDOUT"
	PulumiCommandStderr = "PULUMI_COMMAND_STDERR"
)

// TrimOutput removes exactly one trailing "\n" (the official plugin's rule: "a\n\n" -> "a\n",
// "x\r\n" -> "x\r", "\n" -> "").
func TrimOutput(s string) string {
	return strings.TrimSuffix(s, "\n")
}

// RunError is the error of a command that could not start or exited non-zero:
// `<go error>: running "<command>":\n<stdout and stderr interleaved>`.
func RunError(err error, command, combinedOutput string) error {
	return fmt.Errorf("%w: running %q:\n%s", err, command, combinedOutput)
}

// MaxLoggedLineBytes caps one logged line. The official plugin's scanner stops at 64 KiB and
// then deadlocks the command's output pipe; this one never stops reading, it only shortens
// what it logs (capture into stdout/stderr is unaffected).
const MaxLoggedLineBytes = 1 << 20

// LogLines reads r to the end and calls logLine once per line, like bufio.ScanLines (empty
// lines included, a trailing "\r" dropped, no extra empty line after a final "\n"), but with
// no limit on the line length: it keeps draining r whatever it gets, so writers never block.
func LogLines(r io.Reader, logLine func(string)) error {
	reader := bufio.NewReaderSize(r, 64*1024)
	var line []byte
	truncatedBytes := 0
	flush := func() {
		text := strings.TrimSuffix(string(line), "\r")
		if truncatedBytes > 0 {
			text += fmt.Sprintf(" … [%d more bytes of this line not logged]", truncatedBytes)
		}
		logLine(text)
		line = line[:0]
		truncatedBytes = 0
	}
	for {
		chunk, err := reader.ReadSlice('\n')
		complete := len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if complete {
			chunk = chunk[:len(chunk)-1]
		}
		room := MaxLoggedLineBytes - len(line)
		if room >= len(chunk) {
			line = append(line, chunk...)
		} else {
			if room > 0 {
				line = append(line, chunk[:room]...)
			}
			truncatedBytes += len(chunk) - max(room, 0)
		}
		if complete {
			flush()
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) > 0 || truncatedBytes > 0 {
			flush()
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
}

// ConcurrentWriter serialises writes from the stdout and stderr copiers into one buffer.
type ConcurrentWriter struct {
	Writer io.Writer
	mu     sync.Mutex
}

func (w *ConcurrentWriter) Write(bs []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Writer.Write(bs)
}

// Dial retry policy, the same numbers as the official plugin (pulumi's retry.Until defaults):
// the first retry waits 100 ms, each next one 1.5 times longer, never more than 5 s.
const (
	FirstDialRetryDelay = 100 * time.Millisecond
	DialRetryBackoff    = 1.5
	MaxDialRetryDelay   = 5 * time.Second
	UnlimitedDialErrors = -1
)

// DialRetryDelay is the sleep before retry number retry (0 = the first retry).
func DialRetryDelay(retry int) time.Duration {
	delay := float64(FirstDialRetryDelay)
	for i := 0; i < retry; i++ {
		delay *= DialRetryBackoff
		if delay >= float64(MaxDialRetryDelay) {
			return MaxDialRetryDelay
		}
	}
	return time.Duration(delay)
}

// DialAttemptsExhausted says whether failed attempt number try (0-based) was the last one:
// dialErrorLimit+1 attempts in all; -1 (or any negative) means unlimited.
func DialAttemptsExhausted(try, dialErrorLimit int) bool {
	return dialErrorLimit > UnlimitedDialErrors && try >= dialErrorLimit
}

// DialRetryMessage is the ephemeral note logged after each failed attempt but the last.
func DialRetryMessage(prefix string, try, dialErrorLimit int) string {
	limit := fmt.Sprintf("%d", dialErrorLimit)
	if dialErrorLimit <= UnlimitedDialErrors {
		limit = "inf"
	}
	return fmt.Sprintf("Dial %s%d/%s failed: retrying", prefix, try+1, limit)
}

// DialFailure is the final dial error. N is the 0-based index of the last attempt, which
// equals dialErrorLimit: the official plugin's count is off by one ("after 1 failed
// attempts" after two attempts) and callers match that text.
func DialFailure(try int, err error) error {
	return fmt.Errorf("after %d failed attempts: %w", try, err)
}
