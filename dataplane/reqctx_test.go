package dataplane

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRequestContextEndsItsHooksAndTheContextsDerivedFromIt(t *testing.T) {
	type key struct{}
	ctx := newRequestContext(context.WithValue(context.Background(), key{}, "conn"))
	child, stopChild := context.WithCancel(ctx)
	defer stopChild()
	timed, stopTimed := context.WithTimeout(ctx, time.Hour)
	defer stopTimed()
	ran := make(chan struct{})
	context.AfterFunc(ctx, func() { close(ran) })
	var hooked, stopped bool
	ctx.OnEnd(func() { hooked = true })
	id := ctx.OnEnd(func() { stopped = true })
	if !ctx.StopEnd(id) || ctx.StopEnd(id) {
		t.Fatal("StopEnd: want true once, then false")
	}
	if ctx.Err() != nil || ctx.Value(key{}) != "conn" {
		t.Fatalf("before the end: Err %v, value %v", ctx.Err(), ctx.Value(key{}))
	}

	ctx.cancel()
	for name, c := range map[string]context.Context{"request": ctx, "WithCancel": child, "WithTimeout": timed} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s context not done after the request ended", name)
		}
		if !errors.Is(c.Err(), context.Canceled) {
			t.Errorf("%s: Err %v, want context.Canceled", name, c.Err())
		}
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("context.AfterFunc did not run")
	}
	if !hooked || stopped {
		t.Fatalf("hook ran %v, stopped hook ran %v", hooked, stopped)
	}
	late := false
	if id := ctx.OnEnd(func() { late = true }); id != -1 || !late || ctx.StopEnd(id) {
		t.Fatalf("a hook set after the end: id %d, ran %v", id, late)
	}
}
