package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"awareness.test/command-plugin/util"
)

const (
	sshAgentSocketEnvVar  = "SSH_AUTH_SOCK"
	defaultUser           = "root"
	defaultPort           = 22
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15
)

// Connection is flat (not embedding a shared base) so that validation errors name
// 'remote.Connection', as the official plugin's do.
type Connection struct {
	User               *string          `pulumi:"user,optional"`
	Password           *string          `pulumi:"password,optional" provider:"secret"`
	Host               *string          `pulumi:"host"`
	Port               *float64         `pulumi:"port,optional"`
	PrivateKey         *string          `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string          `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string          `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int             `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int             `pulumi:"perDialTimeout,optional"`
	HostKey            *string          `pulumi:"hostKey,optional"`
	Proxy              *ProxyConnection `pulumi:"proxy,optional"`
}

func (c *Connection) Annotate(a infer.Annotator) {
	a.Describe(&c, "Instructions for how to connect to a remote endpoint.")
	a.SetDefault(&c.User, defaultUser)
	a.SetDefault(&c.Port, defaultPort)
	a.SetDefault(&c.DialErrorLimit, defaultDialErrorLimit)
	a.SetDefault(&c.PerDialTimeout, defaultPerDialTimeout)
	a.Describe(&c.DialErrorLimit, "Max allowed errors on trying to dial the remote host. -1 = unlimited. Default 10.")
	a.Describe(&c.PerDialTimeout, "Max seconds for each dial attempt: the TCP connect and (unlike the official "+
		"plugin, which can hang there) the SSH handshake. 0 = no TCP limit. Default 15.")
	a.Describe(&c.HostKey, "The expected host key (authorized_keys format); unset = any host key is accepted.")
	a.Describe(&c.Proxy, "NOT IMPLEMENTED by the test-only plugin (rejected by Check).")
}

// ProxyConnection is declared only so that using it is refused with a clear message.
type ProxyConnection struct {
	User               *string  `pulumi:"user,optional"`
	Password           *string  `pulumi:"password,optional" provider:"secret"`
	Host               *string  `pulumi:"host"`
	Port               *float64 `pulumi:"port,optional"`
	PrivateKey         *string  `pulumi:"privateKey,optional" provider:"secret"`
	PrivateKeyPassword *string  `pulumi:"privateKeyPassword,optional" provider:"secret"`
	AgentSocketPath    *string  `pulumi:"agentSocketPath,optional"`
	DialErrorLimit     *int     `pulumi:"dialErrorLimit,optional"`
	PerDialTimeout     *int     `pulumi:"perDialTimeout,optional"`
	HostKey            *string  `pulumi:"hostKey,optional"`
}

func notImplemented(what string) string {
	return fmt.Sprintf("%s is not implemented by the test-only command plugin (test/command-plugin); "+
		"use the official pulumi-resource-command for it", what)
}

// connectionFailures lists the connection inputs this plugin refuses.
func connectionFailures(con *Connection) []p.CheckFailure {
	if con != nil && con.Proxy != nil {
		return []p.CheckFailure{{Property: "connection.proxy", Reason: notImplemented("connection.proxy")}}
	}
	return nil
}

func (con *Connection) address() string {
	port := float64(defaultPort)
	if con.Port != nil {
		port = *con.Port
	}
	return net.JoinHostPort(*con.Host, strconv.Itoa(int(port)))
}

func (con *Connection) dialErrorLimit() int {
	if con.DialErrorLimit == nil {
		return defaultDialErrorLimit
	}
	return *con.DialErrorLimit
}

func (con *Connection) perDialTimeout() time.Duration {
	if con.PerDialTimeout == nil {
		return defaultPerDialTimeout * time.Second
	}
	return time.Duration(*con.PerDialTimeout) * time.Second
}

// clientConfig builds the SSH client config. Its errors (bad key, missing passphrase,
// unparsable host key, unreachable agent) are not retried, as in the official plugin.
func (con *Connection) clientConfig() (*ssh.ClientConfig, error) {
	user := defaultUser
	if con.User != nil {
		user = *con.User
	}
	config := &ssh.ClientConfig{User: user, HostKeyCallback: ssh.InsecureIgnoreHostKey()}
	if con.HostKey != nil {
		pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*con.HostKey))
		if err != nil {
			// Newer x/crypto appends "; last parsing error for ignored line: ..."; the
			// official plugin's (older) one says just "ssh: no key found".
			if strings.HasPrefix(err.Error(), "ssh: no key found") {
				err = errors.New("ssh: no key found")
			}
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		config.HostKeyCallback = ssh.FixedHostKey(pinned)
	}
	if con.PrivateKey != nil {
		var signer ssh.Signer
		var err error
		if con.PrivateKeyPassword != nil {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(*con.PrivateKey), []byte(*con.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(*con.PrivateKey))
		}
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if con.Password != nil {
		password := *con.Password
		config.Auth = append(config.Auth, ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	agentSocket := os.Getenv(sshAgentSocketEnvVar)
	if con.AgentSocketPath != nil {
		agentSocket = *con.AgentSocketPath
	}
	if agentSocket != "" {
		conn, err := net.Dial("unix", agentSocket)
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return config, nil
}

// Dial connects with retries: dialErrorLimit+1 attempts (-1 = unlimited), back-off from
// 100 ms ×1.5 up to 5 s, an ephemeral "Dial i/N failed: retrying" after each failed attempt
// but the last. Every dial error is retried (refused, timeout, host key mismatch, auth).
func (con *Connection) Dial(ctx context.Context) (*ssh.Client, error) {
	if con.Proxy != nil {
		return nil, errors.New(notImplemented("connection.proxy"))
	}
	config, err := con.clientConfig()
	if err != nil {
		return nil, err
	}
	limit := con.dialErrorLimit()
	for try := 0; ; try++ {
		client, err := dialOnce(ctx, con.address(), config, con.perDialTimeout())
		if err == nil {
			return client, nil
		}
		if util.DialAttemptsExhausted(try, limit) {
			return nil, util.DialFailure(try, err)
		}
		p.GetLogger(ctx).InfoStatus(util.DialRetryMessage("", try, limit))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(util.DialRetryDelay(try)):
		}
	}
}

// handshakeTimeoutWhenUnbounded bounds the SSH handshake when perDialTimeout is 0 ("no
// maximum" for the TCP connect): a server that accepts TCP but never speaks SSH must fail,
// not hang the plugin as the official one does.
const handshakeTimeoutWhenUnbounded = 60 * time.Second

// dialOnce is one attempt: TCP connect bounded by perDialTimeout, then the SSH handshake,
// also bounded by perDialTimeout. The error texts of ssh.Dial are kept
// ("dial tcp ...: connect: connection refused", "ssh: handshake failed: ...").
func dialOnce(ctx context.Context, addr string, config *ssh.ClientConfig, perDialTimeout time.Duration) (*ssh.Client, error) {
	dialer := net.Dialer{Timeout: perDialTimeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	handshakeTimeout := perDialTimeout
	if handshakeTimeout <= 0 {
		handshakeTimeout = handshakeTimeoutWhenUnbounded
	}
	if err := conn.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		conn.Close()
		return nil, err
	}
	sshConn, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if err != nil {
		conn.Close()
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			return nil, fmt.Errorf("ssh: handshake failed: no SSH answer from %s within %s "+
				"(the server accepts TCP but does not speak SSH): %w", addr, handshakeTimeout, err)
		}
		return nil, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		sshConn.Close()
		return nil, err
	}
	return ssh.NewClient(sshConn, chans, reqs), nil
}
