package snapshot

// RouteKind is the Gateway API kind a snapshot route comes from. Its rules
// are in the same model whatever the kind: a GRPCRoute rule is a path,
// method and header match like an HTTPRoute one. The kind decides how the
// route is named and how the gateway answers requests itself.
type RouteKind string

// Route kinds. HTTP and HTTPS listeners carry HTTPRoutes and GRPCRoutes,
// TLS listeners TLSRoutes.
const (
	// RouteKindHTTP is an HTTPRoute, written as "" in snapshots.
	RouteKindHTTP RouteKind = ""
	// RouteKindGRPC is a GRPCRoute.
	RouteKindGRPC RouteKind = "GRPCRoute"
	// RouteKindTLS is a TLSRoute.
	RouteKindTLS RouteKind = "TLSRoute"
)

// Label is the route label of metrics: the route's name for an HTTPRoute,
// "GRPCRoute/name" or "TLSRoute/name" for the other kinds. Object names cannot hold "/", so a
// route of another kind and an HTTPRoute of one name never share a series, while the
// labels of existing HTTPRoute series stay as they were.
func (r *Route) Label() string {
	if r.Kind == RouteKindHTTP {
		return r.Name
	}
	return string(r.Kind) + "/" + r.Name
}

// ID is "namespace/label": the route as the access log and Explain name it.
func (r *Route) ID() string { return r.Namespace + "/" + r.Label() }
