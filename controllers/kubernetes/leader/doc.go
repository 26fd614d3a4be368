// Package leader runs the Lease election that decides which replica
// writes status. Every replica serves traffic whatever the outcome:
// leadership starts and ends a status-writing term and nothing else
// (see leader.go for why it is not controller-runtime's election).
package leader
