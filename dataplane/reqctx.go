package dataplane

import (
	"context"
	"sync"
)

// requestContext is the context of a request in the connection loop: it
// ends when the handler returns or the client goes away, as a
// context.WithCancel would, for fewer allocations. The saving is in the
// hook the direct path sets on every request, to abort its backend
// exchange when the request ends: context.AfterFunc on a cancel context
// allocates a context, a children map, a done channel and two closures;
// OnEnd here allocates nothing for the first two hooks. Contexts derived
// from it (WithCancel, WithTimeout) find its AfterFunc method and need no
// goroutine to follow it.
type requestContext struct {
	// Context is the connection's: its values; it has no deadline and
	// never ends.
	context.Context

	mu   sync.Mutex
	done chan struct{} // made on first use
	err  error
	// ends are the hooks to run when the request ends; a stopped one is
	// nil. ends is nil once the request has ended.
	ends    []func()
	endsBuf [2]func()
}

func newRequestContext(conn context.Context) *requestContext {
	return &requestContext{Context: conn}
}

func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// OnEnd has f run when the request ends, on the goroutine that ends it,
// and returns the hook's id for StopEnd. On a request that has ended it
// runs f at once and returns -1.
func (c *requestContext) OnEnd(f func()) int {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		f()
		return -1
	}
	if c.ends == nil {
		c.ends = c.endsBuf[:0]
	}
	c.ends = append(c.ends, f)
	id := len(c.ends) - 1
	c.mu.Unlock()
	return id
}

// StopEnd removes the hook id and reports whether that kept it from
// running: false once it has run or was removed.
func (c *requestContext) StopEnd(id int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 0 || id >= len(c.ends) || c.ends[id] == nil {
		return false
	}
	c.ends[id] = nil
	return true
}

// AfterFunc is OnEnd with context.AfterFunc's signature: context.AfterFunc
// and the contexts derived from this one use it.
func (c *requestContext) AfterFunc(f func()) (stop func() bool) {
	id := c.OnEnd(f)
	return func() bool { return c.StopEnd(id) }
}

// cancel ends the request: Done closes, Err is context.Canceled, and the
// hooks not stopped run.
func (c *requestContext) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	ends := c.ends
	c.ends = nil
	c.mu.Unlock()
	// No hook is added or removed once ends is nil.
	for _, f := range ends {
		if f != nil {
			f()
		}
	}
}
