package kubeconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kedge-io/kedge/atomicfile"
	"github.com/kedge-io/kedge/datadir"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// clusterName matches k3s, so scripts written for it find the same names.
const clusterName = "default"

// Options describes one kubeconfig file.
type Options struct {
	Path     string
	Mode     os.FileMode // e.g. 0600; zero means 0600
	Server   string      // e.g. https://127.0.0.1:6443
	CAFile   string      // PEM bundle to trust
	CertFile string
	KeyFile  string
	User     string // context and user name; empty means "default"
}

// Write creates or updates the kubeconfig at o.Path and makes sure it has
// o.Mode, leaving the file untouched when its content is already current.
func Write(o Options) error {
	data, err := render(o)
	if err != nil {
		return err
	}
	mode := o.Mode
	if mode == 0 {
		mode = 0o600
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", o.Path, err)
	}
	current, err := os.ReadFile(o.Path)
	switch {
	case err == nil && bytes.Equal(current, data):
		return ensureMode(o.Path, mode)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("writing kubeconfig %s: %w", o.Path, err)
	}
	if err := atomicfile.Write(o.Path, data, mode); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", o.Path, err)
	}
	return nil
}

func render(o Options) ([]byte, error) {
	if o.Path == "" || o.Server == "" {
		return nil, fmt.Errorf("kubeconfig %q: Path and Server are required", o.Path)
	}
	ca, err := readInput(o.Path, "CA", o.CAFile)
	if err != nil {
		return nil, err
	}
	cert, err := readInput(o.Path, "client certificate", o.CertFile)
	if err != nil {
		return nil, err
	}
	key, err := readInput(o.Path, "client key", o.KeyFile)
	if err != nil {
		return nil, err
	}
	user := o.User
	if user == "" {
		user = "default"
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: o.Server, CertificateAuthorityData: ca}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = user
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding kubeconfig %s: %w", o.Path, err)
	}
	return data, nil
}

func readInput(kubeconfig, what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s for kubeconfig %s: %w", what, kubeconfig, err)
	}
	return data, nil
}

// ensureMode only calls chmod when needed, to avoid metadata writes on
// every restart.
func ensureMode(path string, mode os.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	if fi.Mode().Perm() == mode.Perm() {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// ForKubectl picks the kubeconfig `kedge kubectl` uses when the user gave
// none: the admin file the server writes (--write-kubeconfig), else the
// copy in the data dir, so it works whichever of the two is readable.
// getenv reads KEDGE_WRITE_KUBECONFIG and KEDGE_DATA_DIR like the server.
func ForKubectl(getenv func(string) string) string {
	written := getenv("KEDGE_WRITE_KUBECONFIG")
	if written == "" {
		written = datadir.DefaultKubeconfig
	}
	inDataDir := datadir.FromEnv(getenv).AdminKubeconfig()
	if f, err := os.Open(written); err == nil {
		f.Close()
		return written
	}
	if _, err := os.Stat(inDataDir); err == nil {
		return inDataDir
	}
	return written
}
