package token

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

func TestBootstrapLifecycle(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	b, err := CreateBootstrap(ctx, c, time.Hour, "edge site 7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b.Credential()); err != nil {
		t.Fatalf("created token does not parse: %v", err)
	}
	now := time.Now()
	if err := LookupBootstrap(ctx, c, b.ID, b.Secret, now); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if err := LookupBootstrap(ctx, c, b.ID, "0000000000000000", now); err == nil {
		t.Fatal("wrong secret accepted")
	}
	if err := LookupBootstrap(ctx, c, b.ID, b.Secret, now.Add(2*time.Hour)); err == nil {
		t.Fatal("expired token accepted")
	}
	list, err := ListBootstrap(ctx, c)
	if err != nil || len(list) != 1 || list[0].ID != b.ID || list[0].Description != "edge site 7" {
		t.Fatalf("list %+v, %v", list, err)
	}
	if err := DeleteBootstrap(ctx, c, "K10"+testHash+"::"+b.Credential()); err != nil {
		t.Fatal(err)
	}
	if err := LookupBootstrap(ctx, c, b.ID, b.Secret, now); err == nil {
		t.Fatal("deleted token accepted")
	}
	if err := DeleteBootstrap(ctx, c, b.ID); err == nil {
		t.Fatal("deleting twice succeeded")
	}
}

func TestBootstrapWithoutTTLNeverExpires(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	b, err := CreateBootstrap(ctx, c, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := LookupBootstrap(ctx, c, b.ID, b.Secret, time.Now().Add(10*365*24*time.Hour)); err != nil {
		t.Fatalf("ttl 0 expired: %v", err)
	}
}
