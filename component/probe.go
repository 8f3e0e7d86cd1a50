package component

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Probe asks a component's HTTP health endpoint, giving it 2 s. With wantOK
// any status but 200 is unhealthy; without it, an answer is enough, for
// endpoints such as kube-proxy's that report 503 while the apiserver is
// away although the component itself runs.
func Probe(ctx context.Context, name, url string, wantOK bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s health: %w", name, err)
	}
	resp.Body.Close()
	if wantOK && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s health: %s", name, resp.Status)
	}
	return nil
}
