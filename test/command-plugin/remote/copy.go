package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi-go-provider/infer/types"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// CopyToRemote is command:remote:CopyToRemote: copies a file, a text or a directory over SFTP.
// Delete does nothing (remote files stay), as in the official plugin.
type CopyToRemote struct{}

var (
	_ = (infer.CustomResource[CopyToRemoteInputs, CopyToRemoteOutputs])((*CopyToRemote)(nil))
	_ = (infer.CustomCheck[CopyToRemoteInputs])((*CopyToRemote)(nil))
	_ = (infer.CustomUpdate[CopyToRemoteInputs, CopyToRemoteOutputs])((*CopyToRemote)(nil))
)

type CopyToRemoteInputs struct {
	Connection *Connection          `pulumi:"connection" provider:"secret"`
	Triggers   *[]any               `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Source     types.AssetOrArchive `pulumi:"source"`
	RemotePath string               `pulumi:"remotePath"`
}

type CopyToRemoteOutputs struct {
	CopyToRemoteInputs
}

func (c *CopyToRemote) Annotate(a infer.Annotator) {
	a.Describe(&c, "Copy a FileAsset, StringAsset or FileArchive (path) to a remote host over SFTP.")
}

func (*CopyToRemote) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[CopyToRemoteInputs], error) {
	inputs, failures, err := infer.DefaultCheck[CopyToRemoteInputs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[CopyToRemoteInputs]{Inputs: inputs, Failures: failures}, err
	}
	asset, archive := inputs.Source.Asset, inputs.Source.Archive
	switch {
	case asset != nil && archive != nil:
		failures = append(failures, p.CheckFailure{Property: "asset", Reason: "only one of asset or archive can be set"})
	case asset == nil && archive == nil:
		failures = append(failures, p.CheckFailure{Property: "asset", Reason: "either asset or archive must be set"})
	case asset != nil && !asset.IsPath() && !asset.IsText():
		failures = append(failures, p.CheckFailure{Property: "source", Reason: "asset must be a path-based file asset or a text asset"})
	case archive != nil && !archive.IsPath():
		failures = append(failures, p.CheckFailure{Property: "archive", Reason: "archive must be a path to a file or directory"})
	}
	failures = append(failures, connectionFailures(inputs.Connection)...)
	return infer.CheckResponse[CopyToRemoteInputs]{Inputs: inputs, Failures: failures}, nil
}

// Create copies; the ID is 8 hex chars without a name prefix.
func (*CopyToRemote) Create(ctx context.Context, req infer.CreateRequest[CopyToRemoteInputs]) (infer.CreateResponse[CopyToRemoteOutputs], error) {
	out := CopyToRemoteOutputs{req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[CopyToRemoteOutputs]{Output: out}, nil
	}
	if err := copyToRemote(ctx, req.Inputs); err != nil {
		return infer.CreateResponse[CopyToRemoteOutputs]{}, err
	}
	id, err := resource.NewUniqueHex("", 8, 0)
	return infer.CreateResponse[CopyToRemoteOutputs]{ID: id, Output: out}, err
}

// Update copies again only when the source content (hash) or remotePath changed: a
// connection-only change copies nothing.
func (*CopyToRemote) Update(ctx context.Context, req infer.UpdateRequest[CopyToRemoteInputs, CopyToRemoteOutputs]) (infer.UpdateResponse[CopyToRemoteOutputs], error) {
	out := CopyToRemoteOutputs{req.Inputs}
	if req.DryRun {
		return infer.UpdateResponse[CopyToRemoteOutputs]{Output: out}, nil
	}
	olds, news := req.State.CopyToRemoteInputs, req.Inputs
	if news.sourceHash() == olds.sourceHash() && news.RemotePath == olds.RemotePath {
		return infer.UpdateResponse[CopyToRemoteOutputs]{Output: out}, nil
	}
	return infer.UpdateResponse[CopyToRemoteOutputs]{Output: out}, copyToRemote(ctx, news)
}

func (c CopyToRemoteInputs) sourceHash() string {
	if c.Source.Archive != nil {
		return c.Source.Archive.Hash
	}
	if c.Source.Asset != nil {
		return c.Source.Asset.Hash
	}
	return ""
}

func copyToRemote(ctx context.Context, in CopyToRemoteInputs) error {
	client, err := in.Connection.Dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	sftpClient, err := sftp.NewClient(client)
	if err != nil {
		return err
	}
	defer sftpClient.Close()

	if in.Source.Asset != nil && in.Source.Asset.IsText() {
		return copyText(sftpClient, in.Source.Asset.Text, in.RemotePath)
	}
	source := ""
	if in.Source.Asset != nil {
		source = in.Source.Asset.Path
	} else {
		source = in.Source.Archive.Path
	}
	return copyPath(sftpClient, source, in.RemotePath)
}

// remoteStat returns nil, nil when the path does not exist.
func remoteStat(client *sftp.Client, remotePath string) (fs.FileInfo, error) {
	info, err := client.Stat(remotePath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("failed to stat remote path %s: %w", remotePath, err)
	}
	if err != nil {
		return nil, nil
	}
	return info, nil
}

func copyText(client *sftp.Client, text, dest string) error {
	info, err := remoteStat(client, dest)
	if err != nil {
		return err
	}
	if info != nil && info.IsDir() {
		return fmt.Errorf("remote path %s is a directory; when using a text asset, remotePath must be a file path", dest)
	}
	if err := client.MkdirAll(path.Dir(dest)); err != nil {
		return fmt.Errorf("failed to create remote directory %s: %w", path.Dir(dest), err)
	}
	remote, err := client.Create(dest)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dest, err)
	}
	defer remote.Close()
	if _, err := remote.Write([]byte(text)); err != nil {
		return fmt.Errorf("failed to write text content to remote path %s: %w", dest, err)
	}
	return nil
}

// copyPath copies a local file or directory:
//
//	source | dest is a dir       | dest missing             | dest is a file
//	dir    | dest/dir/...        | dest/dir/...             | error
//	dir/   | dest/... (contents) | dest/... (contents)      | error
//	file   | dest/file           | dest (parents created)   | dest (overwritten)
func copyPath(client *sftp.Client, source, dest string) error {
	srcInfo, err := os.Stat(source)
	if err != nil {
		return err
	}
	destInfo, err := remoteStat(client, dest)
	if err != nil {
		return err
	}
	if !srcInfo.IsDir() {
		if destInfo != nil && destInfo.IsDir() {
			dest = path.Join(dest, filepath.Base(source))
		} else if destInfo == nil {
			if err := client.MkdirAll(path.Dir(dest)); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", path.Dir(dest), err)
			}
		}
		return copyFile(client, source, dest)
	}
	if destInfo == nil {
		if err := client.MkdirAll(dest); err != nil {
			return fmt.Errorf("failed to create remote directory %s: %w", dest, err)
		}
	}
	if !strings.HasSuffix(source, "/") {
		dest = path.Join(dest, filepath.Base(source))
		sub, err := remoteStat(client, dest)
		if err != nil {
			return err
		}
		if sub != nil && !sub.IsDir() {
			return fmt.Errorf("remote path %s exists but is not a directory", dest)
		}
		if sub == nil {
			if err := client.Mkdir(dest); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", dest, err)
			}
		}
	}
	return copyDir(client, source, dest)
}

func copyFile(client *sftp.Client, source, dest string) error {
	local, err := os.Open(source)
	if err != nil {
		return err
	}
	defer local.Close()
	remote, err := client.Create(dest)
	if err != nil {
		return fmt.Errorf("failed to create remote file %s: %w", dest, err)
	}
	defer remote.Close()
	if _, err := remote.ReadFrom(local); err != nil {
		return fmt.Errorf("failed to copy file %s to remote path %s: %w", source, dest, err)
	}
	return nil
}

func copyDir(client *sftp.Client, source, dest string) error {
	return fs.WalkDir(os.DirFS(source), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := path.Join(dest, filepath.ToSlash(rel))
		if !d.IsDir() {
			return copyFile(client, filepath.Join(source, rel), target)
		}
		info, err := remoteStat(client, target)
		if err != nil {
			return err
		}
		if info == nil {
			if err := client.Mkdir(target); err != nil {
				return fmt.Errorf("failed to create remote directory %s: %w", target, err)
			}
		} else if !info.IsDir() {
			return fmt.Errorf("remote path %s exists but is not a directory", target)
		}
		return nil
	})
}
