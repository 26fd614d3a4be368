package snapshot

// RouteKind is the Gateway API kind a snapshot route comes from. Its rules
// are in the same model whatever the kind: a GRPCRoute rule is a path,
// method and header match like an HTTPRoute one. The kind decides how the
// route is named and how the gateway answers requests itself.
type RouteKind string

// Route kinds.
const (
	// KindHTTPRoute is an HTTPRoute, written as "" in snapshots.
	KindHTTPRoute RouteKind = ""
	// KindGRPCRoute is a GRPCRoute.
	KindGRPCRoute RouteKind = "GRPCRoute"
)

// Label is the route label of metrics: the route's name for an HTTPRoute,
// "GRPCRoute/name" for a GRPCRoute. Object names cannot hold "/", so a
// GRPCRoute and an HTTPRoute of one name never share a series, while the
// labels of existing HTTPRoute series stay as they were.
func (r *Route) Label() string {
	if r.Kind == KindHTTPRoute {
		return r.Name
	}
	return string(r.Kind) + "/" + r.Name
}

// ID is "namespace/label": the route as the access log and Explain name it.
func (r *Route) ID() string { return r.Namespace + "/" + r.Label() }
