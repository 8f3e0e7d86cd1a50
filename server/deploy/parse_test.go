package deploy

import (
	"slices"
	"strings"
	"testing"
)

// parsed returns "where kind name" for each object of a file.
func parsed(t *testing.T, name, data string) []string {
	t.Helper()
	objs, err := parseFile(name, []byte(data))
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.where+" "+o.obj.GetKind()+" "+o.obj.GetName())
	}
	return out
}

func TestParseMultiDocumentYAML(t *testing.T) {
	data := `# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
data: {key: "--- not a separator"}
---   # a separator with a comment
# only a comment
---

---
apiVersion: v1
kind: Secret
metadata:
  name: b
---`
	got := parsed(t, "x.yaml", data)
	want := []string{"document 2 ConfigMap a", "document 5 Secret b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseCRLF(t *testing.T) {
	data := "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: a}\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: b}\r\n"
	if got := parsed(t, "x.yml", data); len(got) != 2 {
		t.Errorf("got %v, want two objects", got)
	}
}

func TestParseJSON(t *testing.T) {
	one := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"n": "1"}}`
	if got := parsed(t, "x.json", one); !slices.Equal(got, []string{"document 1 ConfigMap a"}) {
		t.Errorf("got %v", got)
	}
	two := one + "\n\t" + strings.Replace(one, `"a"`, `"b"`, 1)
	if got := parsed(t, "x.json", two); !slices.Equal(got, []string{"document 1 ConfigMap a", "document 2 ConfigMap b"}) {
		t.Errorf("got %v", got)
	}
}

func TestParseIntegersStayIntegers(t *testing.T) {
	objs, err := parseFile("x.json", []byte(`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": 3}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v := objs[0].obj.Object["spec"].(map[string]any)["replicas"]; v != int64(3) {
		t.Errorf("replicas = %#v, want int64 3 as unstructured expects", v)
	}
}

func TestParseList(t *testing.T) {
	data := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, resourceVersion: "42", uid: 0b5e}
- apiVersion: v1
  kind: Service
  metadata: {name: b}
---
apiVersion: v1
kind: ConfigMapList
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
`
	objs, err := parseFile("x.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.where+" "+o.obj.GetName())
	}
	want := []string{"document 1 item 1 a", "document 1 item 2 b", "document 2 item 1 c"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if rv := objs[0].obj.GetResourceVersion(); rv != "" || objs[0].obj.GetUID() != "" {
		t.Errorf("server-owned fields kept: resourceVersion %q uid %q", rv, objs[0].obj.GetUID())
	}
}

func TestParseEmptyFiles(t *testing.T) {
	for _, data := range []string{"", "\n", "# nothing\n", "---\n---\n", "null\n"} {
		if got := parsed(t, "x.yaml", data); len(got) != 0 {
			t.Errorf("%q: got %v, want no objects", data, got)
		}
	}
	if got := parsed(t, "x.json", " \n"); len(got) != 0 {
		t.Errorf("empty JSON: got %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	valid := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"x.yaml", valid + "apiVersion: v1\n  kind: ConfigMap\n", "document 2: yaml: line 6: mapping values are not allowed"},
		{"x.yaml", valid + "key: a\nkey: b\n", `document 2: yaml: unmarshal errors:
  line 6: key "key" already set in map`},
		{"x.yaml", valid + "- a\n- b\n", "document 2: not an object"},
		{"x.yaml", valid + "kind: ConfigMap\nmetadata: {name: a}\n", "document 2: missing apiVersion"},
		{"x.yaml", valid + "apiVersion: v1\nmetadata: {name: a}\n", "document 2: missing kind"},
		{"x.yaml", valid + "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n", "document 2: missing metadata.name"},
		{"x.yaml", valid + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: yes}\n", "document 2: .metadata.name accessor error: true is of the type bool"},
		{"x.yaml", valid + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: 1}\n", "document 2: .metadata.namespace accessor error: 1 is of the type int64"},
		{"x.yaml", valid + "apiVersion: v1\nkind: ConfigMap\nmetadata: a\n", "document 2: .metadata.name accessor error"},
		{"x.yaml", valid + "apiVersion: a/b/c\nkind: ConfigMap\nmetadata: {name: a}\n", "document 2 (a/b/c ConfigMap a): unexpected GroupVersion string: a/b/c"},
		{"x.yaml", "apiVersion: v1\nkind: List\nitems:\n- 3\n", "document 1 item 1: not an object"},
		{"x.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap}\n", "document 1 item 1: missing metadata.name"},
		{"x.json", "{\"apiVersion\": \"v1\",\n \"kind\": }", "document 1: line 2: invalid character '}'"},
		{"x.json", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}} [1]`, "document 2: not an object"},
	} {
		_, err := parseFile(tc.name, []byte(tc.data))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s %q: error %v, want it to start with %q", tc.name, tc.data, err, tc.want)
		}
	}
}

func TestPhases(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind string
		want             phase
	}{
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", phaseCRD},
		{"v1", "Namespace", phaseNamespace},
		{"example.com/v1", "Namespace", phaseOther},
		{"v1", "ConfigMap", phaseOther},
		{"example.com/v1", "CustomResourceDefinition", phaseOther},
	} {
		objs, err := parseFile("x.yaml", []byte("apiVersion: "+tc.apiVersion+"\nkind: "+tc.kind+"\nmetadata: {name: a}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := objs[0].phase(); got != tc.want {
			t.Errorf("%s %s: phase %d, want %d", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
}

func TestIsSeparator(t *testing.T) {
	for line, want := range map[string]bool{
		"---": true, "--- ": true, "---\r": true, "--- # next": true, "---\t#x": true,
		"----": false, "---#x": false, "--- a: b": false, " ---": false, "# ---": false,
	} {
		if got := isSeparator(line); got != want {
			t.Errorf("isSeparator(%q) = %v, want %v", line, got, want)
		}
	}
}
