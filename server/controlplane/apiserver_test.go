package controlplane

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWithPrefixRoutesOnlyItsPaths(t *testing.T) {
	named := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) })
	}
	h := withPrefix("/v1-kedge/", named("supervisor"), named("apiserver"))
	for path, want := range map[string]string{
		"/v1-kedge/cacerts": "supervisor",
		"/v1-kedge/":        "supervisor",
		"/v1-kedge":         "apiserver", // not under the prefix
		"/api/v1/nodes":     "apiserver",
		"/readyz":           "apiserver",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if got := w.Body.String(); got != want {
			t.Errorf("%s went to %s, want %s", path, got, want)
		}
	}
}
