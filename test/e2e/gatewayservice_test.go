package e2e_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/certgate/certgate/controllers/kubernetes/gatewayservice"
	"github.com/certgate/certgate/controllers/kubernetes/provider"
	"github.com/certgate/certgate/controllers/translator"
	"github.com/certgate/certgate/test/envtest"
)

// testServicePerGateway runs two replicas in the Service-per-Gateway mode:
// a follower, which never writes, and a leader running as config/rbac's
// ServiceAccount, which provisions the Services. Each binds its own
// address, as two Pods would have their own. The Gateways live in their
// own namespace and their Services in the controller's (certgate-system),
// where its Pods are; the test plays the load-balancer controller.
func (w *world) testServicePerGateway(t *testing.T) {
	const (
		ns, class, controller = "per-gateway", "certgate-svc", "certgate.dev/service-test"
		followerAddress       = "127.0.0.4"
		svcNS                 = "certgate-system"
	)
	gwSvc, gw2Svc := translator.GatewayServiceName(ns, "gw"), translator.GatewayServiceName(ns, "gw2")
	leaderAddress := envtest.TestAddress()
	selector := map[string]string{"app.kubernetes.io/name": "certgate"}
	mode := &gatewayservice.Options{
		Type: corev1.ServiceTypeLoadBalancer, Selector: selector, ContainerPorts: gatewayservice.PortRange{First: 21000, Last: 21099},
		Namespace: svcNS,
	}
	start := func(cfg *rest.Config, address string) *provider.Provider {
		p, _ := w.providerWith(t, cfg, provider.Options{
			ControllerName: controller, GatewayService: mode,
			GatewayAddress: func(*gatewayv1.Gateway) (string, bool) { return address, true },
		})
		return p
	}
	w.gatewayClass(t, class, controller)

	// The follower alone: it creates no Service, binds nothing, and its
	// translation says the Gateway waits for its Service.
	follower := start(w.env.Config, followerAddress)
	w.app(t, ns, class, 443, ns)
	eventually(t, "the follower's translation: Gateway Pending", func() error {
		return gatewayPending(follower.Last(), ns, "gw")
	})
	time.Sleep(time.Second)
	w.namespace(t, svcNS)
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: svcNS, Name: gwSvc}, &corev1.Service{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a Service exists without a leader (get: %v)", err)
	}

	// The leader, as the ServiceAccount of config/rbac.
	w.ensureRBAC(t)
	cfg := rest.CopyConfig(w.env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:certgate-system:certgate"}
	leader := start(cfg, leaderAddress)
	leader.Lead(t.Context())

	gw := &gatewayv1.Gateway{}
	if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
		t.Fatal(err)
	}
	svc := w.waitService(t, svcNS, gwSvc, "443=21000")
	if !reflect.DeepEqual(svc.Spec.Selector, selector) || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("Service type %s selector %v, want LoadBalancer %v", svc.Spec.Type, svc.Spec.Selector, selector)
	}
	checkPorts(t, svc, map[int32]int32{443: 21000})
	checkNamesGateway(t, svc, gw)

	// Both replicas serve on the allocated container port.
	wantStatus(t, "the leader on the container port", w.client(nil, hostPort(leaderAddress, 21000)), http.StatusOK)
	wantStatus(t, "the follower on the container port", w.client(nil, hostPort(followerAddress, 21000)), http.StatusOK)

	// The load balancer's address is reported.
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
	if err := w.c.Status().Update(ctx(t), svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Gateway Programmed with the load balancer's address", func() error { return w.gatewayReady(t, ns, "203.0.113.7") })

	// A second Gateway: other container ports for the same listener port.
	gw2 := &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gw2"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: class, Listeners: []gatewayv1.Listener{{
			Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "serving"}}},
		}}},
	}
	w.create(t, gw2)
	svc2 := w.waitService(t, svcNS, gw2Svc, "443=21001")
	checkPorts(t, svc2, map[int32]int32{443: 21001})

	// A listener added: a port added, the existing allocation kept.
	eventually(t, "add a listener", func() error {
		if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: "gw"}, gw); err != nil {
			return err
		}
		gw.Spec.Listeners = append(gw.Spec.Listeners, gatewayv1.Listener{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType})
		return w.c.Update(ctx(t), gw)
	})
	svc = w.waitService(t, svcNS, gwSvc, "80=21002,443=21000")
	checkPorts(t, svc, map[int32]int32{80: 21002, 443: 21000})
	w.waitService(t, svcNS, gw2Svc, "443=21001")
	wantStatus(t, "the leader on the first container port, after the change", w.client(nil, hostPort(leaderAddress, 21000)), http.StatusOK)
	eventually(t, "the follower binds the added port", func() error {
		resp, err := http.Get("http://" + hostPort(followerAddress, 21002) + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})

	// A Gateway deleted: the leader deletes its Service (no owner
	// reference can cross namespaces, so no garbage collector would).
	w.remove(t, gw2)
	eventually(t, "the deleted Gateway's Service is deleted", func() error {
		err := w.c.Get(ctx(t), types.NamespacedName{Namespace: svcNS, Name: gw2Svc}, &corev1.Service{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("get: %v", err)
		}
		return nil
	})
}

// gatewayPending checks a translation says ns/name is Programmed=False
// Pending, waiting for its Service.
func gatewayPending(r *translator.Result, ns, name string) error {
	if r == nil {
		return errors.New("no translation yet")
	}
	for _, g := range r.Status.Gateways {
		if g.Namespace == ns && g.Name == name {
			c, err := condition(g.Status.Conditions, "Programmed", metav1.ConditionFalse, "Pending")
			if err == nil && c.Message != "waiting for its Service" {
				err = fmt.Errorf("message %q", c.Message)
			}
			return err
		}
	}
	return fmt.Errorf("no status of %s/%s", ns, name)
}

// checkNamesGateway checks svc names gw in its labels and annotations,
// with no owner reference (which could not cross namespaces).
func checkNamesGateway(t *testing.T, svc *corev1.Service, gw *gatewayv1.Gateway) {
	t.Helper()
	if svc.Labels[translator.LabelGatewayNamespace] != gw.Namespace || svc.Labels[translator.LabelGatewayName] != gw.Name {
		t.Errorf("Service labels %v, want the Gateway %s/%s", svc.Labels, gw.Namespace, gw.Name)
	}
	if svc.Annotations[translator.AnnotationGateway] != gw.Namespace+"/"+gw.Name || svc.Annotations[translator.AnnotationGatewayUID] != string(gw.UID) {
		t.Errorf("Service annotations %v, want the Gateway %s/%s %s", svc.Annotations, gw.Namespace, gw.Name, gw.UID)
	}
	if len(svc.OwnerReferences) != 0 {
		t.Errorf("ownerReferences %+v, want none", svc.OwnerReferences)
	}
}

// waitService waits until the Service records the allocation.
func (w *world) waitService(t *testing.T, ns, name, ports string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{}
	eventually(t, "Service "+name+" with "+ports, func() error {
		if err := w.c.Get(ctx(t), types.NamespacedName{Namespace: ns, Name: name}, svc); err != nil {
			return err
		}
		if got := svc.Annotations[translator.AnnotationContainerPorts]; got != ports {
			return fmt.Errorf("%s = %q", translator.AnnotationContainerPorts, got)
		}
		return nil
	})
	return svc
}

// checkPorts checks the Service's ports: listener port → target port.
func checkPorts(t *testing.T, svc *corev1.Service, want map[int32]int32) {
	t.Helper()
	got := map[int32]int32{}
	for _, p := range svc.Spec.Ports {
		got[p.Port] = p.TargetPort.IntVal
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Service %s ports %v, want %v", svc.Name, got, want)
	}
}

// ensureRBAC applies config/rbac unless RBACIsEnough already did.
func (w *world) ensureRBAC(t *testing.T) {
	t.Helper()
	w.namespace(t, "certgate-system")
	err := w.c.Get(ctx(t), types.NamespacedName{Namespace: "certgate-system", Name: "certgate"}, &corev1.ServiceAccount{})
	if apierrors.IsNotFound(err) {
		w.applyDir(t, filepath.Join(w.env.RepoRoot, "config", "rbac"))
	} else if err != nil {
		t.Fatal(err)
	}
}
