package rbac

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestApplyFlannelBinding(t *testing.T) {
	client := fake.NewClientset()
	ctx := context.Background()
	if err := apply(ctx, client, Flannel("system:kedge-flannel")); err != nil {
		t.Fatal(err)
	}
	role, err := client.RbacV1().ClusterRoles().Get(ctx, "system:kedge-flannel", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !allows(role.Rules, "nodes", "list") || !allows(role.Rules, "nodes/status", "patch") {
		t.Fatalf("role does not let flannel list nodes and patch their status: %+v", role.Rules)
	}
	if allows(role.Rules, "nodes", "delete") {
		t.Fatalf("role grants more than flannel needs: %+v", role.Rules)
	}
	binding, err := client.RbacV1().ClusterRoleBindings().Get(ctx, "system:kedge-flannel", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != rbacv1.UserKind || binding.Subjects[0].Name != "system:kedge-flannel" {
		t.Fatalf("binding subjects = %+v", binding.Subjects)
	}
	// A second start applies over the first without error.
	if err := apply(ctx, client, Flannel("system:kedge-flannel")); err != nil {
		t.Fatalf("re-applying: %v", err)
	}
}

func allows(rules []rbacv1.PolicyRule, resource, verb string) bool {
	for _, r := range rules {
		for _, res := range r.Resources {
			for _, v := range r.Verbs {
				if res == resource && v == verb {
					return true
				}
			}
		}
	}
	return false
}
