package join

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/token"
)

const requestTimeout = 15 * time.Second

// fetchCA downloads the server's CA bundle over an unverified connection
// and then verifies it against the token's hash. With a short token there
// is nothing to verify against: the CA of the first join is kept and
// later joins must see the same one.
func (o Options) fetchCA(ctx context.Context) ([]byte, error) {
	insecure := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // verified below by hash
		Proxy:           nil,
	}}
	ca, err := fetch(ctx, insecure, http.MethodGet, o.Server+joinapi.PathCACerts, "", nil)
	if err != nil {
		return nil, fmt.Errorf("fetching the CA from %s: %w", o.Server, err)
	}
	err = o.Token.VerifyCA(ca)
	switch {
	case errors.Is(err, token.ErrNoCAHash):
		return ca, o.pinCA(ca)
	case err != nil:
		return nil, permanent("%s: %w; the token belongs to another cluster, or something between this node and the server is intercepting traffic", o.Server, err)
	}
	return ca, nil
}

func (o Options) pinCA(ca []byte) error {
	known, err := readFileIfExists(o.Files.ServerCA())
	if err != nil {
		return err
	}
	if known == nil {
		klog.Warningf("the join token has no CA hash, so this node trusts the CA %s presents now; use the full K10... token from the server's token file to verify it", o.Server)
		return nil
	}
	if !bytes.Equal(known, ca) {
		return permanent("%s presents a different CA than at this node's first join (%s); if the cluster was rebuilt, remove %s and join again", o.Server, o.Files.ServerCA(), o.Files.Dir)
	}
	return nil
}

// supervisorClient talks to the join API with the CA verified.
type supervisorClient struct {
	http       *http.Client
	server     string
	credential string
}

func newClient(server string, ca []byte, credential string) (*supervisorClient, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, permanent("%s sent a CA bundle with no PEM certificate", server)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, Proxy: nil}
	return &supervisorClient{http: &http.Client{Timeout: requestTimeout, Transport: transport}, server: server, credential: credential}, nil
}

func (c *supervisorClient) get(ctx context.Context, path string, out any) error {
	body, err := fetch(ctx, c.http, http.MethodGet, c.server+path, c.credential, nil)
	if err != nil {
		return err
	}
	return decode(path, body, out)
}

func (c *supervisorClient) post(ctx context.Context, path string, in, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	body, err := fetch(ctx, c.http, http.MethodPost, c.server+path, c.credential, data)
	if err != nil {
		return err
	}
	return decode(path, body, out)
}

func decode(path string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("reading the answer to %s: %w", path, err)
	}
	return nil
}

// fetch returns the body of a 200 answer. 401 and 403 are permanent: the
// supervisor's message (wrong token, node name taken) is passed on as is.
func fetch(ctx context.Context, c *http.Client, method, url, credential string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if credential != "" {
		joinapi.SetCredential(req, credential)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return data, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, permanent("the server refused this node: %s", strings.TrimSpace(string(data)))
	default:
		return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(data)))
	}
}
