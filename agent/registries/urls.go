package registries

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// endpointURL checks a mirror endpoint of registries.yaml: an http or
// https URL with a host, and nothing around it. A "/" path is dropped, so
// hosts.toml names the endpoint as containerd prints it.
func endpointURL(s string) (*url.URL, error) {
	if err := noSpace(s); err != nil {
		return nil, err
	}
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("%q has no scheme; write \"https://%s\" (or http:// for a plain-HTTP mirror)", s, s)
	}
	u, err := httpURL(s)
	if err != nil {
		return nil, err
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%q holds credentials; move them to configs.%q.auth, which containerd keeps out of hosts.toml", s, u.Host)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q has a query or fragment, which containerd drops; remove it", s)
	}
	if u.Path == "/" {
		u.Path = ""
	}
	return u, nil
}

// hostKeyURL checks a server value or [host] key of a hosts.toml as
// containerd reads it: a value not starting with "http" means https.
func hostKeyURL(s string) error {
	if err := noSpace(s); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "http") {
		s = "https://" + s
	}
	_, err := httpURL(s)
	return err
}

// noSpace rejects whitespace, the classic cause of pulls that fail with
// an error naming neither file nor line.
func noSpace(s string) error {
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%q has leading or trailing whitespace; remove it", s)
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return fmt.Errorf("%q contains whitespace; remove it", s)
	}
	return nil
}

func httpURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: the scheme must be http or https", s)
	case u.Host == "":
		return nil, fmt.Errorf("%q has no host", s)
	}
	return u, nil
}
