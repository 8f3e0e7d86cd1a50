package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// object is one object of a manifest file and where in the file it is.
type object struct {
	where string // "document 2" or "document 2 item 3", counted from 1
	obj   *unstructured.Unstructured
}

func (o object) String() string {
	return fmt.Sprintf("%s (%s)", o.where, describe(o.obj))
}

// describe names an object as written, e.g. "apps/v1 Deployment default/web".
func describe(u *unstructured.Unstructured) string {
	name := u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("%s %s %s", u.GetAPIVersion(), u.GetKind(), name)
}

// parseFile returns the objects of a manifest file in file order. Empty and
// comment-only documents are skipped; the first bad document fails the
// whole file so that a half-read file is never applied or pruned.
func parseFile(name string, data []byte) ([]object, error) {
	docs, err := splitDocuments(name, data)
	if err != nil {
		return nil, err
	}
	var objs []object
	for i, doc := range docs {
		found, err := parseDocument(fmt.Sprintf("document %d", i+1), doc)
		if err != nil {
			return nil, err
		}
		objs = append(objs, found...)
	}
	return objs, nil
}

// splitDocuments turns a file into JSON documents; null means empty.
func splitDocuments(name string, data []byte) ([][]byte, error) {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return splitJSON(data)
	}
	return splitYAML(data)
}

// splitJSON reads a stream of JSON values, usually just one.
func splitJSON(data []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs [][]byte
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(docs)+1, jsonError(data, err))
		}
		docs = append(docs, raw)
	}
}

// jsonError adds the line to a syntax error, which only has a byte offset.
func jsonError(data []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) && syntax.Offset <= int64(len(data)) {
		line := 1 + bytes.Count(data[:syntax.Offset], []byte("\n"))
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}

// splitYAML cuts a file at "---" lines and converts each document. A
// document is converted with the lines before it left blank, so YAML errors
// give the line in the file rather than in the document.
func splitYAML(data []byte) ([][]byte, error) {
	var docs [][]byte
	var doc strings.Builder
	flush := func() error {
		out, err := yaml.YAMLToJSONStrict([]byte(doc.String()))
		if err != nil {
			return fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		docs = append(docs, out)
		doc.Reset()
		return nil
	}
	for n, line := range strings.Split(string(data), "\n") {
		if !isSeparator(line) {
			doc.WriteString(line + "\n")
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		doc.WriteString(strings.Repeat("\n", n+1))
	}
	return docs, flush()
}

// isSeparator reports a "---" line, which may carry a comment.
func isSeparator(line string) bool {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, " \t\r"), "---")
	if !ok || rest == "" {
		return ok
	}
	// YAML needs a blank between the marker and a comment.
	return (rest[0] == ' ' || rest[0] == '\t') && strings.TrimLeft(rest, " \t")[0] == '#'
}

// parseDocument checks one JSON document and unpacks a List into its items.
func parseDocument(where string, doc []byte) ([]object, error) {
	var value any
	if err := utiljson.Unmarshal(doc, &value); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if value == nil {
		return nil, nil
	}
	fields, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", where)
	}
	if items, ok := listItems(fields); ok {
		return parseItems(where, items)
	}
	o := object{where: where, obj: &unstructured.Unstructured{Object: fields}}
	return []object{o}, validate(o)
}

// listItems returns the items of a List (kind List, or any *List with
// items, as kubectl get -o yaml writes).
func listItems(fields map[string]any) ([]any, bool) {
	kind, _ := fields["kind"].(string)
	items, ok := fields["items"].([]any)
	return items, ok && strings.HasSuffix(kind, "List")
}

func parseItems(where string, items []any) ([]object, error) {
	objs := make([]object, 0, len(items))
	for i, item := range items {
		at := fmt.Sprintf("%s item %d", where, i+1)
		fields, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not an object", at)
		}
		o := object{where: at, obj: &unstructured.Unstructured{Object: fields}}
		if err := validate(o); err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// validate rejects what server-side apply cannot take, and drops the
// server-owned fields an object copied from kubectl get -o yaml carries,
// which would otherwise fail the apply or make it conflict later.
func validate(o object) error {
	if err := checkStrings(o); err != nil {
		return err
	}
	u := o.obj
	if _, err := schema.ParseGroupVersion(u.GetAPIVersion()); err != nil {
		return fmt.Errorf("%s: %w", o, err)
	}
	u.SetResourceVersion("")
	u.SetUID("")
	u.SetManagedFields(nil)
	return nil
}

// checkStrings also catches fields YAML read as something else, such as
// name: yes (a bool) or name: 0123 (a number).
func checkStrings(o object) error {
	for _, path := range []string{"apiVersion", "kind", "metadata.name", "metadata.namespace"} {
		v, _, err := unstructured.NestedString(o.obj.Object, strings.Split(path, ".")...)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", o.where, err)
		case v == "" && path != "metadata.namespace":
			// Server-side apply needs a name: generateName cannot work.
			return fmt.Errorf("%s: missing %s", o.where, path)
		}
	}
	return nil
}

// phase is the order a pass applies objects in: CRDs first so that their
// kinds exist, then Namespaces so namespaced objects have a place to go,
// then everything else. Deletion runs the phases backwards.
type phase int

const (
	phaseCRD phase = iota
	phaseNamespace
	phaseOther
)

var phases = []phase{phaseCRD, phaseNamespace, phaseOther}

func phaseOf(group, kind string) phase {
	switch {
	case group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition":
		return phaseCRD
	case group == "" && kind == "Namespace":
		return phaseNamespace
	}
	return phaseOther
}

func (o object) phase() phase {
	gvk := o.obj.GroupVersionKind()
	return phaseOf(gvk.Group, gvk.Kind)
}
