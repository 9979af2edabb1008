package remote

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func ptr[T any](v T) *T { return &v }

func TestUnparsableHostKeyHasTheOfficialText(t *testing.T) {
	con := Connection{Host: ptr("127.0.0.1"), HostKey: ptr("not a key")}
	_, err := con.clientConfig()
	if err == nil || err.Error() != "failed to parse host key: ssh: no key found" {
		t.Fatalf("got %v", err)
	}
}

func TestKeyErrorsHaveTheOfficialTexts(t *testing.T) {
	con := Connection{Host: ptr("127.0.0.1"), PrivateKey: ptr("-----BEGIN NOTHING-----")}
	if _, err := con.clientConfig(); err == nil || err.Error() != "ssh: no key found" {
		t.Fatalf("got %v", err)
	}
}

func TestDefaultsApplyWhenCheckDidNotFillThem(t *testing.T) {
	con := Connection{Host: ptr("10.0.0.1")}
	if con.address() != "10.0.0.1:22" || con.dialErrorLimit() != 10 || con.perDialTimeout() != 15*time.Second {
		t.Fatalf("defaults: %s %d %s", con.address(), con.dialErrorLimit(), con.perDialTimeout())
	}
	cfg, err := con.clientConfig()
	if err != nil || cfg.User != "root" {
		t.Fatalf("user default: %v %v", cfg, err)
	}
}

// A server that accepts TCP but never speaks SSH must fail within the per-dial timeout
// (the official plugin hangs forever there).
func TestHandshakeWithASilentServerIsBounded(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // never writes
		}
	}()
	config := &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	started := time.Now()
	_, err = dialOnce(context.Background(), listener.Addr().String(), config, 500*time.Millisecond)
	elapsed := time.Since(started)
	if err == nil {
		t.Fatal("expected an error")
	}
	if !strings.HasPrefix(err.Error(), "ssh: handshake failed: no SSH answer from "+listener.Addr().String()+" within 500ms") {
		t.Errorf("error text: %v", err)
	}
	if elapsed < 400*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("took %s, want about 500ms", elapsed)
	}
}

func TestRefusedDialKeepsTheNetErrorText(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	config := &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	_, err = dialOnce(context.Background(), addr, config, time.Second)
	if err == nil || err.Error() != "dial tcp "+addr+": connect: connection refused" {
		t.Fatalf("got %v", err)
	}
}

// dialErrorLimit 3 = 4 attempts with 100 + 150 + 225 ms of back-off, and the official
// (off-by-one) count in the final error.
func TestDialRetriesWithBackoffThenFails(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().(*net.TCPAddr)
	listener.Close()
	con := Connection{
		Host: ptr("127.0.0.1"), Port: ptr(float64(addr.Port)),
		DialErrorLimit: ptr(3), PerDialTimeout: ptr(1),
	}
	started := time.Now()
	_, err = con.Dial(context.Background())
	elapsed := time.Since(started)
	want := "after 3 failed attempts: dial tcp " + addr.String() + ": connect: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if elapsed < 475*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("took %s, want about 475ms of back-off", elapsed)
	}
}

func TestProxyIsRefusedLoudly(t *testing.T) {
	con := Connection{Host: ptr("127.0.0.1"), Proxy: &ProxyConnection{Host: ptr("127.0.0.2")}}
	if _, err := con.Dial(context.Background()); err == nil || !strings.Contains(err.Error(), "connection.proxy is not implemented") {
		t.Fatalf("got %v", err)
	}
	if failures := connectionFailures(&con); len(failures) != 1 || failures[0].Property != "connection.proxy" {
		t.Fatalf("Check failures: %v", failures)
	}
}
