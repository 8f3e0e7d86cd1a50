package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	// recordNamespace holds the records and the Events about files.
	recordNamespace = "kube-system"
	// recordLabel marks kedge's records among other ConfigMaps.
	recordLabel = "kedge.io/manifest-record"
	// recordPrefix starts every record's name.
	recordPrefix = "kedge-manifest-"
)

// objectRef names one object applied from a file, with its namespace as
// applied ("" for cluster-scoped objects).
type objectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// objectKey is an object's identity. It leaves out the version: a file that
// moves an object to a newer API version still means the same object, and
// must not prune it.
type objectKey struct {
	group, kind, namespace, name string
}

func (r objectRef) key() objectKey {
	return objectKey{r.Group, r.Kind, r.Namespace, r.Name}
}

// String reads like describe: "apps/v1 Deployment default/web".
func (r objectRef) String() string {
	name := r.Name
	if r.Namespace != "" {
		name = r.Namespace + "/" + name
	}
	gv := schema.GroupVersion{Group: r.Group, Version: r.Version}
	return fmt.Sprintf("%s %s %s", gv, r.Kind, name)
}

func (r objectRef) phase() phase { return phaseOf(r.Group, r.Kind) }

// record is what kedge knows about one file across restarts.
type record struct {
	File string
	// SHA256 is the content last applied without error, "" before that.
	SHA256 string
	// Objects are what may exist because of the file. The list grows with
	// every apply, and shrinks only once dropped objects were deleted.
	Objects []objectRef
}

// recordName is the record's ConfigMap name: readable, at most 63
// characters, and unique because file names that clean up alike differ in
// the hash.
func recordName(file string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(file))
	if len(clean) > 39 {
		clean = clean[:39]
	}
	sum := sha256.Sum256([]byte(file))
	return recordPrefix + clean + "-" + hex.EncodeToString(sum[:4])
}

// encodeRecord returns the ConfigMap that stores r.
func encodeRecord(r record) (*corev1.ConfigMap, error) {
	objects, err := json.MarshalIndent(r.Objects, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding record of %s: %w", r.File, err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      recordName(r.File),
			Namespace: recordNamespace,
			Labels:    map[string]string{recordLabel: "true"},
		},
		Data: map[string]string{"file": r.File, "sha256": r.SHA256, "objects": string(objects)},
	}, nil
}

// decodeRecord reads a record back from its ConfigMap.
func decodeRecord(cm *corev1.ConfigMap) (record, error) {
	r := record{File: cm.Data["file"], SHA256: cm.Data["sha256"]}
	if r.File == "" || recordName(r.File) != cm.Name {
		return r, fmt.Errorf("record %s/%s: file %q does not match the name", cm.Namespace, cm.Name, r.File)
	}
	if err := json.Unmarshal([]byte(cm.Data["objects"]), &r.Objects); err != nil {
		return r, fmt.Errorf("record %s/%s: objects: %w", cm.Namespace, cm.Name, err)
	}
	return r, nil
}

// union returns a followed by what b adds, one entry per object; b's
// version wins, being the newer.
func union(a, b []objectRef) []objectRef {
	out := make([]objectRef, 0, len(a)+len(b))
	at := map[objectKey]int{}
	for _, r := range append(append([]objectRef{}, a...), b...) {
		if i, ok := at[r.key()]; ok {
			out[i] = r
			continue
		}
		at[r.key()] = len(out)
		out = append(out, r)
	}
	return out
}

// prunable returns the objects of old that are neither kept nor claimed by
// another file, in deletion order.
func prunable(old, keep []objectRef, claimed map[objectKey]bool) []objectRef {
	kept := map[objectKey]bool{}
	for _, r := range keep {
		kept[r.key()] = true
	}
	var out []objectRef
	for _, r := range old {
		if !kept[r.key()] && !claimed[r.key()] {
			out = append(out, r)
		}
	}
	return deletionOrder(out)
}

// deletionOrder runs the phases backwards: an object goes before its
// Namespace, and custom resources before their CRD.
func deletionOrder(refs []objectRef) []objectRef {
	out := make([]objectRef, 0, len(refs))
	for i := len(phases) - 1; i >= 0; i-- {
		for _, r := range refs {
			if r.phase() == phases[i] {
				out = append(out, r)
			}
		}
	}
	return out
}
