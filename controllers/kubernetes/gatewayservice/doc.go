// Package gatewayservice is the Service-per-Gateway mode's leader side: it
// gives each accepted Gateway a Service selecting certgate's Pods and
// allocates the container ports its listeners are served on, recording
// them on the Service for every replica to bind (gatewayservice.go).
package gatewayservice
