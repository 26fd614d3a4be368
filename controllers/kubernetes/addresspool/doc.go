// Package addresspool assigns each Gateway an IP address from a CIDR, for
// bare metal and the local test cluster, where certgate binds each Gateway
// on its own address instead of behind a provisioned Service.
package addresspool
