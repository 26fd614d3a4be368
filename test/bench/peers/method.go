package main

import (
	"bytes"
	"fmt"
)

func (env *runEnv) methodSection(b *bytes.Buffer) {
	fmt.Fprintf(b, "## Method\n\n")
	fmt.Fprintf(b, `- **CPUs.** The proxy under test runs alone on CPU %d (`+"`taskset`"+`): certgate, Caddy and Traefik with `+
		"`GOMAXPROCS=1`"+`, nginx with one worker, HAProxy with one thread. The load generator and the backend share CPU %d.
- **Figure.** Requests (or handshakes, one request each) answered 200 during the measurement, divided by the CPU time
  (user + system, `+"`utime`+`stime`"+` of /proc/PID/stat) of every process of the peer (nginx's and HAProxy's master
  and worker) over the same interval. Per CPU-second, the figure does not depend on how fast the load generator is,
  only on the proxy's own cost per request.
- **Rounds.** Each round starts every peer afresh (all of them, idle on the proxy's CPU until measured) and then
  runs scenario by scenario, each on every peer in turn, in an order rotated each round: the figures of one row
  are taken seconds apart, so a drift of the machine's speed or a burst of other work does not hit one peer's
  figures only; the tables give the median over rounds. Each measurement: %v of warm-up, then %v counted.
- **Backend.** One Go HTTP server (in the bench program) for every peer: plain HTTP/1.1, and TLS that requires a
  client certificate of the bench CA; it answers every path with a %d-byte body.
- **Certificates.** Generated at run time, ECDSA P-256: a CA; the proxies' serving certificate; the client's
  certificate; the backend's; the client certificate the proxies present to the backend. TLS 1.3 only with X25519
  only (the client offers nothing else; each peer is configured the same).
- **Load generator.** Our own Go program (this one): wrk and h2load cannot present client certificates. Each
  connection is HTTP/1.1 written by hand over `+"`net`"+` and `+"`crypto/tls`"+`, one request in flight per connection:
  32 keep-alive connections; 8 loops of new connection + handshake + request for the handshake rows (`+"`Connection: close`"+`; the resumed row keeps a session cache so that TLS 1.3 resumes with a ticket).
- **Scenarios.** HTTP on a plain listener; HTTPS on a listener that asks for no client certificate (SNI `+"`%s`"+`);
  mTLS on a listener that verifies the CA (SNI `+"`%s`"+`), path `+"`/pinned`"+` (one pin) or
  `+"`/pinned10k`"+`; HTTP in and mTLS out to the backend's TLS listener, the proxy verifying the backend against the
  CA and presenting its own client certificate.
- **Noise.** The machine is shared: other work (compilers, tests) ran during this run. Read the ratios, not the
  absolute figures.

Run it: `+"`make bench-peers`"+` (builds certgate, Caddy and Traefik from their tools modules into .cache/, needs
`+"`apt-get install nginx-light haproxy`"+`); `+"`make bench-peers BENCH_PEERS_FLAGS=-quick`"+` for a one-round check.
`, proxyCPU, loadCPU, env.tm.warm, env.tm.measure, len(body), openHost, mtlsHost)
}
