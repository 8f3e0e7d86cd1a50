package registryproxy

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// upstream is a registry on loopback that wants basic auth u:p and holds
// one image at mirrored/busybox:1.
func upstream(t *testing.T) (*url.URL, string) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "p" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(u.Host + "/mirrored/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})); err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return u, digest.String()
}

func startProxy(t *testing.T, endpoint *url.URL, auth authn.Authenticator) *Proxy {
	t.Helper()
	p := New()
	p.SetRoutes(map[string][]Route{"docker.io": {{
		Endpoint:  endpoint,
		Rewrite:   func(repo string) string { return strings.Replace(repo, "library/", "mirrored/", 1) },
		Transport: http.DefaultTransport,
		Auth:      auth,
	}}})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func get(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestProxyRewritesRepository(t *testing.T) {
	endpoint, digest := upstream(t)
	p := startProxy(t, endpoint, &authn.Basic{Username: "u", Password: "p"})
	base := p.Endpoint("docker.io", 0)

	resp, body := get(t, http.MethodGet, base+"/library/busybox/manifests/1")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != digest {
		t.Fatalf("manifest: %s digest %q, want 200 %s: %s", resp.Status, resp.Header.Get("Docker-Content-Digest"), digest, body)
	}
	if resp, _ := get(t, http.MethodHead, base+"/library/busybox/manifests/"+digest); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD by digest: %s", resp.Status)
	}
	if resp, _ := get(t, http.MethodGet, base+"/library/other/manifests/1"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing repository: %s, want 404 from upstream", resp.Status)
	}
}

func TestProxyReportsUpstreamRefusal(t *testing.T) {
	endpoint, _ := upstream(t)
	p := startProxy(t, endpoint, &authn.Basic{Username: "u", Password: "wrong"})
	resp, body := get(t, http.MethodGet, p.Endpoint("docker.io", 0)+"/library/busybox/manifests/1")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "UNAUTHORIZED") {
		t.Fatalf("got %s %s, want 401 naming UNAUTHORIZED", resp.Status, body)
	}
}

func TestProxyRefusesOtherRequests(t *testing.T) {
	endpoint, _ := upstream(t)
	p := startProxy(t, endpoint, authn.Anonymous)
	base := p.Endpoint("docker.io", 0)
	for _, tt := range []struct{ method, url string }{
		{http.MethodPut, base + "/library/busybox/manifests/1"},
		{http.MethodGet, base + "/library/busybox/tags/list"},
		{http.MethodGet, p.Endpoint("quay.io", 0) + "/x/manifests/1"},
		{http.MethodGet, p.Endpoint("docker.io", 3) + "/x/manifests/1"},
	} {
		if resp, _ := get(t, tt.method, tt.url); resp.StatusCode < 400 {
			t.Errorf("%s %s: %s, want a refusal", tt.method, tt.url, resp.Status)
		}
	}
}
