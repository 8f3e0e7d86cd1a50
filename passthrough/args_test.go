package passthrough

import (
	"reflect"
	"strings"
	"testing"
)

func TestMergeOverrideAndRepeat(t *testing.T) {
	got, err := Merge(map[string]string{"v": "0", "profiling": "false"},
		[]string{"v=2", "--feature-gates=A=true", "feature-gates=B=false"}, "kube-apiserver-arg")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--feature-gates=A=true", "--feature-gates=B=false", "--profiling=false", "--v=2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestMergeRejectsMissingValue(t *testing.T) {
	_, err := Merge(nil, []string{"audit-log-path"}, "kube-apiserver-arg")
	if err == nil || !strings.Contains(err.Error(), "--kube-apiserver-arg") {
		t.Fatalf("got %v, want error naming --kube-apiserver-arg", err)
	}
}

func TestParseUnknownFlagNamesIt(t *testing.T) {
	fs := NewFlagSet("x")
	fs.String("known", "", "")
	err := Parse(fs, "kube-scheduler", "kube-scheduler-arg", []string{"--bogus-flag=1"})
	if err == nil || !strings.Contains(err.Error(), "bogus-flag") || !strings.Contains(err.Error(), "--kube-scheduler-arg") {
		t.Fatalf("got %v, want error naming bogus-flag and --kube-scheduler-arg", err)
	}
}
