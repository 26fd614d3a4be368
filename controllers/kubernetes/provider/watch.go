package provider

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// watch registers an informer for every kind the provider reads, with a
// handler that triggers the debouncer. It runs before the cache starts, so
// the informers exist when the cache syncs and no event is missed.
func (p *Provider) watch(ctx context.Context, c cache.Cache) error {
	for _, obj := range fullKinds() {
		if err := p.handle(ctx, c, obj, func(client.Object) bool { return true }); err != nil {
			return err
		}
	}
	for _, m := range metadataKinds() {
		kind := m.Kind
		// A Secret or ConfigMap that no object references cannot change
		// the translation: ignore it, so that churn in unrelated Secrets
		// (tokens, Helm releases) costs nothing.
		relevant := func(o client.Object) bool { return p.refs.Referenced(kind, o.GetNamespace(), o.GetName()) }
		if err := p.handle(ctx, c, m, relevant); err != nil {
			return err
		}
	}
	return nil
}

// handle adds one event handler for obj's kind.
func (p *Provider) handle(ctx context.Context, c cache.Cache, obj client.Object, relevant func(client.Object) bool) error {
	inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("informer for %T: %w", obj, err)
	}
	on := func(o any) { p.onEvent(o, relevant) }
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: on,
		UpdateFunc: func(old, o any) {
			if !statusOnly(old, o) {
				on(o)
			}
		},
		DeleteFunc: on,
	})
	return err
}

// onEvent triggers a translation. It is guarded: a panic here would be on
// an informer's goroutine and end the process, taking live traffic with
// it, so it is logged and the event is treated as a change anyway.
func (p *Provider) onEvent(o any, relevant func(client.Object) bool) {
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("event handler panicked; triggering a full translation", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			p.debouncer.Trigger()
		}
	}()
	if obj := objectOf(o); obj == nil || relevant(obj) {
		p.debouncer.Trigger()
	} else if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("ignored a change to an unreferenced object", "namespace", obj.GetNamespace(), "name", obj.GetName())
	}
}

// statusOnly reports whether an update changed only a route's status:
// the translator reads no route's status, and the status writer's own
// writes would otherwise start one translation per route whose status it
// wrote. Generation counts spec changes; labels and annotations are
// compared too, for whatever may read them. Other kinds always count: the
// translator reads a ClientCertPolicy's status (its renewal memory) and a
// Service's (load-balancer addresses).
func statusOnly(old, cur any) bool {
	a, ok := old.(client.Object)
	if !ok || !isRoute(cur) {
		return false
	}
	b := cur.(client.Object)
	return a.GetGeneration() == b.GetGeneration() && a.GetGeneration() != 0 &&
		maps.Equal(a.GetLabels(), b.GetLabels()) && maps.Equal(a.GetAnnotations(), b.GetAnnotations())
}

// isRoute reports whether o is one of the route kinds certgate serves.
func isRoute(o any) bool {
	switch o.(type) {
	case *gatewayv1.HTTPRoute, *gatewayv1.GRPCRoute, *gatewayv1.TLSRoute:
		return true
	}
	return false
}

// objectOf unwraps a delete's tombstone. nil means the object is unknown,
// which callers treat as relevant.
func objectOf(o any) client.Object {
	if t, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	obj, _ := o.(client.Object)
	return obj
}
