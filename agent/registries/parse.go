package registries

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The keys of each level of the schema.
var (
	topKeys    = []string{"mirrors", "configs"}
	mirrorKeys = []string{"endpoint", "rewrite"}
	hostKeys   = []string{"auth", "tls"}
	authKeys   = []string{"username", "password", "auth", "identity_token"}
	tlsKeys    = []string{"ca_file", "cert_file", "key_file", "insecure_skip_verify"}
)

// belongs says where a schema key goes. A key found at another level is
// almost always indented one step too far or not far enough.
var belongs = map[string]string{
	"mirrors": "a top-level key", "configs": "a top-level key",
	"endpoint": "a key of a mirrors entry", "rewrite": "a key of a mirrors entry",
	"auth": "a key of a configs entry", "tls": "a key of a configs entry",
	"username": "a key of a configs entry's auth", "password": "a key of a configs entry's auth",
	"identity_token": "a key of a configs entry's auth",
	"ca_file":        "a key of a configs entry's tls", "cert_file": "a key of a configs entry's tls",
	"key_file": "a key of a configs entry's tls", "insecure_skip_verify": "a key of a configs entry's tls",
}

// parser walks the YAML tree by hand rather than decoding into structs,
// so that every error can name its line and key. It goes on after an
// error, to report them all at once.
type parser struct {
	path string
	errs []error
}

// fail records an error at n's line for key, the dotted path from the
// top ("" for the top itself).
func (p *parser) fail(n *yaml.Node, key, format string, args ...any) {
	if key == "" {
		key = "top level"
	}
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s: %s", p.path, n.Line, key, fmt.Sprintf(format, args...)))
}

// mapping calls field for each key of n, in the file's order. known lists
// the keys allowed (nil: any); want describes n for the error when it is
// not a mapping. A null n (a key with nothing after it) is an empty mapping.
func (p *parser) mapping(n *yaml.Node, key, want string, known []string, field func(k string, kn, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, key, "want %s, found %s", want, kind(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], n.Content[i+1]
		k := kn.Value
		if line, dup := seen[k]; dup {
			// yaml.v3 checks duplicates only when decoding into maps and structs.
			p.fail(kn, sub(key, k), "defined twice (first at line %d); keep one", line)
			continue
		}
		seen[k] = kn.Line
		if known != nil && !slices.Contains(known, k) {
			p.fail(kn, sub(key, k), "unknown key %q; expected one of %s%s", k, strings.Join(known, ", "), misplaced(k))
			continue
		}
		field(k, kn, v)
	}
}

// misplaced is the hint for a schema key at the wrong level.
func misplaced(k string) string {
	if where, ok := belongs[k]; ok {
		return fmt.Sprintf(" (%q is %s: check the indentation)", k, where)
	}
	return ""
}

func (p *parser) top(cfg *Config, n *yaml.Node) {
	p.mapping(n, "", "a mapping with mirrors and configs", topKeys, func(k string, _, v *yaml.Node) {
		p.mapping(v, k, "a mapping of registry names", nil, func(name string, kn, v *yaml.Node) {
			key := k + "." + strconv.Quote(name)
			if !p.registryName(kn, k, key, name) {
				return
			}
			if k == "mirrors" {
				cfg.Mirrors[name] = p.mirror(v, key)
			} else {
				cfg.Configs[name] = p.host(v, key)
			}
		})
	})
}

// registryName checks a key of mirrors or configs (section): host[:port],
// without scheme or path; "*" only for mirrors.
func (p *parser) registryName(n *yaml.Node, section, key, name string) bool {
	switch {
	case name == "*" && section == "mirrors":
		return true
	case name == "*":
		p.fail(n, key, `"*" is only for mirrors; name each registry host in configs`)
	case belongs[name] != "":
		p.fail(n, key, "%q is %s, not a registry name: check the indentation", name, belongs[name])
	case name == BuiltinRegistry:
		p.fail(n, key, "%s is kedge's built-in registry and is served by the node itself; remove this entry", name)
	case strings.Contains(name, "://"):
		p.fail(n, key, "registry names have no scheme: write %s", bareHost(name))
	case !validHostPort(name):
		p.fail(n, key, "%q is not a registry host[:port]; write a host name or IP address, optionally with :port, without scheme or path", name)
	default:
		return true
	}
	return false
}

// bareHost is the host[:port] of a registry name written as a URL.
func bareHost(name string) string {
	if u, err := url.Parse(name); err == nil && u.Host != "" {
		return u.Host
	}
	return name[strings.Index(name, "://")+3:]
}

// validHostPort accepts a host name or IP address ([v6] when bracketed),
// optionally with a port: what containerd names a certs.d directory by.
func validHostPort(s string) bool {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
		if strings.Contains(h, ":") {
			return net.ParseIP(h) != nil
		}
		host = h
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return net.ParseIP(s[1:len(s)-1]) != nil
	}
	return validHostname(host)
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || strings.ContainsFunc(label, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) {
			return false
		}
	}
	return true
}

func (p *parser) mirror(n *yaml.Node, key string) Mirror {
	var m Mirror
	var endpoint, rewrite *yaml.Node
	p.mapping(n, key, "a mapping with endpoint and rewrite", mirrorKeys, func(k string, kn, v *yaml.Node) {
		if k == "endpoint" {
			endpoint, m.Endpoints = kn, p.endpoints(v, key+".endpoint")
		} else {
			rewrite, m.Rewrites = kn, p.rewrites(v, key+".rewrite")
		}
	})
	if rewrite != nil && endpoint == nil {
		// The rewrite proxy stands in for listed endpoints; the registry
		// itself, tried last, is reached directly and unrenamed.
		p.fail(rewrite, key+".rewrite", "rewrites apply to the mirror's endpoints, and it lists none; add endpoint (the registry itself, if that is what serves the renamed repositories)")
	}
	return m
}

func (p *parser) endpoints(n *yaml.Node, key string) []*url.URL {
	n = deref(n)
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		p.fail(n, key, "want a list of URLs, found the single value %q; write endpoint: [%q]", n.Value, n.Value)
		return nil
	case n.Kind != yaml.SequenceNode:
		p.fail(n, key, "want a list of URLs, found %s; check the indentation, and start each URL with \"- \"", kind(n))
		return nil
	}
	var out []*url.URL
	for i, e := range n.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		s, ok := p.str(e, k)
		if !ok {
			continue
		}
		u, err := endpointURL(s)
		if err != nil {
			p.fail(e, k, "%v", err)
			continue
		}
		out = append(out, u)
	}
	return out
}

func (p *parser) rewrites(n *yaml.Node, key string) []Rewrite {
	var out []Rewrite
	p.mapping(n, key, `a mapping of "pattern": "replacement"`, nil, func(pattern string, kn, v *yaml.Node) {
		k := key + "." + strconv.Quote(pattern)
		repl, ok := p.str(v, k)
		if !ok {
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			p.fail(kn, k, "pattern %q is not a regular expression: %v", pattern, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			return
		}
		out = append(out, Rewrite{Pattern: re, Replacement: repl})
	})
	return out
}

func (p *parser) host(n *yaml.Node, key string) Host {
	var h Host
	p.mapping(n, key, "a mapping with auth and tls", hostKeys, func(k string, _, v *yaml.Node) {
		if k == "auth" {
			h.Auth = p.auth(v, key+".auth")
		} else {
			h.TLS = p.tls(v, key+".tls")
		}
	})
	return h
}

// stringMap reads a mapping of string values, returning them and their nodes
// by key.
func (p *parser) stringMap(n *yaml.Node, key, want string, known []string) (map[string]string, map[string]*yaml.Node) {
	vals, nodes := map[string]string{}, map[string]*yaml.Node{}
	p.mapping(n, key, want, known, func(k string, _, v *yaml.Node) {
		if s, ok := p.str(v, key+"."+k); ok {
			vals[k], nodes[k] = s, v
		}
	})
	return vals, nodes
}

func (p *parser) auth(n *yaml.Node, key string) *Auth {
	v, nodes := p.stringMap(n, key, "a mapping with username and password, auth or identity_token", authKeys)
	a := &Auth{Username: v["username"], Password: v["password"], Auth: v["auth"], IdentityToken: v["identity_token"]}
	switch {
	case a.Auth != "" && !basicAuth(a.Auth):
		p.fail(nodes["auth"], key+".auth", "want base64 of user:password (printf '%%s' user:password | base64), or write username and password instead")
	case a.Username != "" && a.Password == "":
		p.fail(nodes["username"], key+".username", "username %q has no password; add %s.password", a.Username, key)
	case a.Password != "" && a.Username == "":
		p.fail(nodes["password"], key+".password", "a password without a username; add %s.username", key)
	}
	if *a == (Auth{}) {
		return nil
	}
	return a
}

// basicAuth reports whether s is base64 of "user:password".
func basicAuth(s string) bool {
	dec, err := base64.StdEncoding.DecodeString(s)
	user, _, ok := strings.Cut(string(dec), ":")
	return err == nil && ok && user != ""
}

func (p *parser) tls(n *yaml.Node, key string) *TLS {
	t := &TLS{}
	nodes := map[string]*yaml.Node{}
	files := map[string]*string{"ca_file": &t.CAFile, "cert_file": &t.CertFile, "key_file": &t.KeyFile}
	p.mapping(n, key, "a mapping with ca_file, cert_file, key_file and insecure_skip_verify", tlsKeys, func(k string, _, v *yaml.Node) {
		nodes[k] = v
		if k == "insecure_skip_verify" {
			t.InsecureSkipVerify = p.boolean(v, key+"."+k)
		} else if s, ok := p.absPath(v, key+"."+k); ok {
			*files[k] = s
		}
	})
	p.tlsFiles(t, key, nodes)
	return t
}

// absPath reads an absolute file name: a relative one would be resolved
// against whatever directory kedge was started in.
func (p *parser) absPath(n *yaml.Node, key string) (string, bool) {
	s, ok := p.str(n, key)
	if ok && !filepath.IsAbs(s) {
		p.fail(n, key, "%q is a relative path; write an absolute one", s)
		return "", false
	}
	return s, ok
}

// tlsFiles loads the CA and client certificate now, so a missing or
// broken file stops the start, not a pull much later.
func (p *parser) tlsFiles(t *TLS, key string, nodes map[string]*yaml.Node) {
	if t.CAFile != "" {
		if err := checkCA(t.CAFile); err != nil {
			p.fail(nodes["ca_file"], key+".ca_file", "%v", err)
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		if err := checkKeyPair(t.CertFile, t.KeyFile); err != nil {
			p.fail(nodes["cert_file"], key+".cert_file", "%v", err)
		}
	case t.CertFile != "":
		p.fail(nodes["cert_file"], key+".cert_file", "a client certificate needs its key; add %s.key_file", key)
	case t.KeyFile != "":
		p.fail(nodes["key_file"], key+".key_file", "a client key needs its certificate; add %s.cert_file", key)
	}
}

// str reads a scalar as written: like k3s, a password of 1234 is the
// string "1234".
func (p *parser) str(n *yaml.Node, key string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(n, key, "want a string, found %s", kind(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, key string) bool {
	n = deref(n)
	b, err := strconv.ParseBool(strings.ToLower(n.Value))
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || err != nil {
		p.fail(n, key, "want true or false, found %s", kind(n))
	}
	return b
}

// deref follows an alias (*name) to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// kind names a node's type the way a user writes it.
func kind(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	case n.ShortTag() == "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	}
	return fmt.Sprintf("%s %s", strings.TrimPrefix(n.ShortTag(), "!!"), n.Value)
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// sub is key's child k, quoted when it is not a plain word.
func sub(key, k string) string {
	if !plainKey.MatchString(k) {
		k = strconv.Quote(k)
	}
	if key == "" {
		return k
	}
	return key + "." + k
}
