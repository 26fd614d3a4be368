package main

import "time"

// scenario is one row of the throughput tables.
type scenario struct {
	id, title string
	// target picks the listener and path on a peer's ports.
	target func(env *runEnv, p ports) target
	mode   mode
	// workers is the number of concurrent connections (or handshake loops).
	workers int
	// pinned rows check a pin where the peer can express one.
	pinned bool
	// direct is the backend port for the "direct to backend" row, or
	// nothing when the backend has no such listener.
	direct func(env *runEnv) *target
}

func (env *runEnv) httpTarget(port int, path string) target {
	return target{port: port, host: httpHost, path: path}
}

func (env *runEnv) openTarget(port int) target {
	return target{port: port, sni: openHost, host: openHost, path: "/"}
}

func (env *runEnv) mtlsTarget(port int, path string) target {
	return target{port: port, sni: mtlsHost, host: mtlsHost, path: path, cert: true}
}

// directTLS is the backend's own mTLS listener, which verifies the CA.
func (env *runEnv) directTLS() *target {
	return &target{port: env.backendTLS, sni: backendHost, host: backendHost, path: "/", cert: true}
}

func scenarios() []scenario {
	directHTTP := func(env *runEnv) *target { t := env.httpTarget(env.backendHTTP, "/"); return &t }
	directTLS := func(env *runEnv) *target { return env.directTLS() }
	return []scenario{
		{id: "http", title: "HTTP/1.1 keep-alive proxying", mode: keepAlive, workers: 32, direct: directHTTP,
			target: func(env *runEnv, p ports) target { return env.httpTarget(p.HTTP, "/") }},
		{id: "https", title: "HTTPS keep-alive (no client certificate)", mode: keepAlive, workers: 32,
			target: func(env *runEnv, p ports) target { return env.openTarget(p.HTTPS) }},
		{id: "mtls", title: "mTLS keep-alive, pinned route", mode: keepAlive, workers: 32, pinned: true, direct: directTLS,
			target: func(env *runEnv, p ports) target { return env.mtlsTarget(p.MTLS, "/pinned") }},
		{id: "full", title: "full mTLS handshake + request", mode: fullHandshake, workers: 8, pinned: true, direct: directTLS,
			target: func(env *runEnv, p ports) target { return env.mtlsTarget(p.MTLS, "/pinned") }},
		{id: "resumed", title: "resumed mTLS handshake + request", mode: resumedHandshake, workers: 8, pinned: true, direct: directTLS,
			target: func(env *runEnv, p ports) target { return env.mtlsTarget(p.MTLS, "/pinned") }},
		{id: "backend-mtls", title: "HTTP in, mTLS to the backend (the proxy presents a client certificate), keep-alive", mode: keepAlive, workers: 32,
			target: func(env *runEnv, p ports) target { return env.httpTarget(p.HTTP, "/tlsbackend") }},
		{id: "pins10k", title: "mTLS keep-alive, route with 10,000 pins", mode: keepAlive, workers: 32, pinned: true,
			target: func(env *runEnv, p ports) target { return env.mtlsTarget(p.MTLS, "/pinned10k") }},
	}
}

// durations of one measurement.
type timing struct {
	warm, measure, latency time.Duration
	rate, changes          int
	changeEvery            time.Duration
}
