package util

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestTrimOutputRemovesExactlyOneTrailingNewline(t *testing.T) {
	cases := map[string]string{
		"a\n\n": "a\n", "x\r\n": "x\r", "\n": "", "": "", "x": "x",
		"\nlead": "\nlead", "  x  \n": "  x  ", "a\nb\n": "a\nb",
	}
	for in, want := range cases {
		if got := TrimOutput(in); got != want {
			t.Errorf("TrimOutput(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunErrorText(t *testing.T) {
	err := exec.Command("/bin/sh", "-c", "exit 3").Run()
	got := RunError(err, "printf x; exit 3", "x\n").Error()
	want := "exit status 3: running \"printf x; exit 3\":\nx\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	var exitErr *exec.ExitError
	if !errors.As(RunError(err, "c", ""), &exitErr) {
		t.Fatal("RunError must wrap the original error")
	}
}

func collectLines(t *testing.T, input string) []string {
	t.Helper()
	var lines []string
	if err := LogLines(strings.NewReader(input), func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	return lines
}

func TestLogLinesMatchesScanLinesSemantics(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"a\nb\n", []string{"a", "b"}},
		{"a\n\n", []string{"a", ""}},
		{"\nlead", []string{"", "lead"}},
		{"x\r\n", []string{"x"}},
		{"\n", []string{""}},
		{"", nil},
		{"no-newline", []string{"no-newline"}},
	}
	for _, c := range cases {
		got := collectLines(t, c.in)
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("LogLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLogLinesDrainsLinesLongerThanTheLimit(t *testing.T) {
	long := strings.Repeat("x", MaxLoggedLineBytes+5000)
	got := collectLines(t, long+"\nnext\n")
	if len(got) != 2 {
		t.Fatalf("want 2 lines, got %d", len(got))
	}
	if !strings.HasPrefix(got[0], strings.Repeat("x", MaxLoggedLineBytes)) ||
		!strings.HasSuffix(got[0], "[5000 more bytes of this line not logged]") {
		t.Errorf("long line not truncated as expected: ...%q", got[0][len(got[0])-60:])
	}
	if got[1] != "next" {
		t.Errorf("line after the long one = %q", got[1])
	}
	// A 100 KB line (over the official 64 KiB scanner limit) is logged whole.
	mid := strings.Repeat("y", 100_000)
	if got := collectLines(t, mid); len(got) != 1 || got[0] != mid {
		t.Errorf("100 KB line not logged whole")
	}
}

func TestDialRetryDelaysFollowTheOfficialBackoff(t *testing.T) {
	want := []time.Duration{100, 150, 225, 337, 506, 759, 1139, 1708, 2562, 3844, 5000, 5000}
	for i, w := range want {
		got := DialRetryDelay(i).Milliseconds()
		if got != int64(w) {
			t.Errorf("DialRetryDelay(%d) = %dms, want %dms", i, got, w)
		}
	}
	var total time.Duration
	for i := 0; i < 10; i++ {
		total += DialRetryDelay(i)
	}
	// The facts: connection refused with the default limit (10) fails after ~11.3 s of back-off.
	if total < 11200*time.Millisecond || total > 11400*time.Millisecond {
		t.Errorf("total back-off for 10 retries = %s, want ~11.3s", total)
	}
}

func TestDialAttemptsAndMessages(t *testing.T) {
	if DialAttemptsExhausted(0, 1) || !DialAttemptsExhausted(1, 1) {
		t.Error("dialErrorLimit 1 must allow exactly 2 attempts")
	}
	if !DialAttemptsExhausted(0, 0) {
		t.Error("dialErrorLimit 0 must allow a single attempt")
	}
	if DialAttemptsExhausted(1000, -1) {
		t.Error("dialErrorLimit -1 must be unlimited")
	}
	if got := DialRetryMessage("", 0, 10); got != "Dial 1/10 failed: retrying" {
		t.Errorf("got %q", got)
	}
	if got := DialRetryMessage("proxy ", 2, -1); got != "Dial proxy 3/inf failed: retrying" {
		t.Errorf("got %q", got)
	}
	got := DialFailure(1, errors.New("dial tcp 127.0.0.3:22: connect: connection refused")).Error()
	if got != "after 1 failed attempts: dial tcp 127.0.0.3:22: connect: connection refused" {
		t.Errorf("got %q", got)
	}
}
