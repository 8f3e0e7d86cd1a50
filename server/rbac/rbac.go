package rbac

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	rbacac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// FieldManager owns the fields kedge applies.
const FieldManager = "kedge"

// Binding grants a user one cluster role, both named by Name.
type Binding struct {
	Name  string
	User  string
	Rules []*rbacac.PolicyRuleApplyConfiguration
}

// Flannel lets flannel read every Node (for the other nodes' subnets and
// VTEP addresses) and patch Node status (its own annotations and the
// NetworkUnavailable condition).
func Flannel(user string) Binding {
	return Binding{
		Name: user,
		User: user,
		Rules: []*rbacac.PolicyRuleApplyConfiguration{
			rbacac.PolicyRule().WithAPIGroups("").WithResources("nodes").WithVerbs("get", "list", "watch"),
			rbacac.PolicyRule().WithAPIGroups("").WithResources("nodes/status").WithVerbs("patch"),
		},
	}
}

// Bootstrap applies bindings once the apiserver answers. It has no
// long-running part; it is a component so it runs in order, after the
// apiserver and before the agents that need the roles.
type Bootstrap struct {
	config   *rest.Config
	bindings []Binding
}

// NewBootstrap returns a component applying bindings with the admin config.
func NewBootstrap(admin *rest.Config, bindings ...Binding) *Bootstrap {
	return &Bootstrap{config: admin, bindings: bindings}
}

// Name implements component.Component.
func (b *Bootstrap) Name() string { return "rbac" }

// Start applies every binding, retrying while the apiserver is still
// installing its own bootstrap policy.
func (b *Bootstrap) Start(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(b.config)
	if err != nil {
		return err
	}
	for _, binding := range b.bindings {
		var last error
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			last = apply(ctx, client, binding)
			if last != nil {
				klog.V(2).Infof("applying cluster role %s: %v", binding.Name, last)
			}
			return last == nil, nil
		})
		if err != nil {
			return fmt.Errorf("applying cluster role %s: %w (last error: %v)", binding.Name, err, last)
		}
	}
	return nil
}

func apply(ctx context.Context, client kubernetes.Interface, b Binding) error {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	role := rbacac.ClusterRole(b.Name).WithRules(b.Rules...)
	if _, err := client.RbacV1().ClusterRoles().Apply(ctx, role, opts); err != nil {
		return err
	}
	binding := rbacac.ClusterRoleBinding(b.Name).
		WithRoleRef(rbacac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(b.Name)).
		WithSubjects(rbacac.Subject().WithAPIGroup(rbacv1.GroupName).WithKind(rbacv1.UserKind).WithName(b.User))
	_, err := client.RbacV1().ClusterRoleBindings().Apply(ctx, binding, opts)
	return err
}

// Ready implements component.Component; the roles need no watching.
func (b *Bootstrap) Ready(context.Context) error { return nil }

// Stop implements component.Component.
func (b *Bootstrap) Stop(context.Context) error { return nil }
