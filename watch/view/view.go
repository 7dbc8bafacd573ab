// Package view keeps what the watch knows of a host's tables from the
// records it has seen: its routes by FIB node, its route-cache entries,
// its neighbour entries and the links that are down, changed as the
// kernel changes them (a replace, the clones a route change prunes, the
// routes a link takes with it). The watch engine applies every record;
// the detectors read the view and the Change each record made. It does
// no I/O.
package view

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"raceroute/trace"
)

// Key identifies a FIB node, the routes of one prefix in one table, or
// the route-cache entry of one destination.
type Key struct {
	Family int
	Table  uint32
	Dst    netip.Prefix
}

// KeyOf returns the FIB node of a route.
func KeyOf(r trace.Route) Key { return Key{r.Family, r.Table, r.Dst} }

// RouteEntry is a route in the view and when it was installed.
type RouteEntry struct {
	Route trace.Route
	Since time.Time
}

// NeighKey identifies a neighbour entry: device (Dev) and address.
type NeighKey struct {
	Dev  string
	Addr netip.Addr
}

// NeighKeyOf returns the key of a neighbour entry.
func NeighKeyOf(n trace.Neigh) NeighKey { return NeighKey{Dev(n.Dev, n.Ifindex), n.Addr} }

// NeighEntry is a neighbour entry in the view.
type NeighEntry struct {
	Neigh   trace.Neigh
	Since   time.Time // when its MAC was last set
	Changed time.Time // when the kernel last announced a change of it
}

// Link is a link that is down: since when, and how the view knows.
type Link struct {
	At   time.Time // when it went down
	Line int       // the line of the record that said so, in a log
	// Inferred: the trace shows no link events; the link's own IPv6
	// routes went (links.go).
	Inferred bool
}

// Change is what applying one record did to the view, beyond the
// record itself. It is valid until the next Apply.
type Change struct {
	// Left is, for a route deleted, how many routes its FIB node holds
	// after it.
	Left int
	// PrevNeigh is, for a neighbour record, the entry it replaced or
	// deleted (nil: there was none).
	PrevNeigh *NeighEntry
	// PrevCache is, for a route-cache record, the entry it replaced or
	// deleted (nil: there was none).
	PrevCache *trace.Record
	// Down names the link that went down with this record: a link
	// message, or the deletion of one of its own IPv6 routes in a trace
	// without link events ("" when none did).
	Down string
	// Silent holds the IPv4 routes through Down that the kernel removed
	// with it without announcing them; the view dropped them.
	Silent []trace.Route
	// Gone reports that the link Down was deleted: the view dropped its
	// routes, route-cache entries and neighbour entries.
	Gone bool
	// Up names the link that came back up with this record ("" when
	// none did), and UpFrom is how it had gone down.
	Up     string
	UpFrom Link
}

// View is the view of one host's tables. It is not safe for concurrent
// use.
type View struct {
	routes routeStore               // non-cache routes, by FIB node
	lens   map[tableKey]*[129]int32 // FIB nodes holding routes, by prefix length
	// lastTable and lastLens are the table lensOf returned last.
	lastTable tableKey
	lastLens  *[129]int32
	cache     map[Key]*trace.Record    // route-cache entries, by destination
	neighs    map[NeighKey]*NeighEntry // neighbour entries
	links     map[string]Link          // links that are down, by name
	ch        Change
}

// New returns an empty view.
func New() *View {
	return &View{
		routes: newRouteStore(),
		lens:   map[tableKey]*[129]int32{},
		cache:  map[Key]*trace.Record{},
		neighs: map[NeighKey]*NeighEntry{},
		links:  map[string]Link{},
	}
}

// IsChange reports whether a record is a change seen as it happened,
// not a table read: the initial dump, a resync's differences, a poll.
func IsChange(r *trace.Record) bool { return !r.Initial && !r.Resync && !r.Polled }

// Apply applies one record to the view and says what else it did.
func (v *View) Apply(r *trace.Record) *Change {
	v.ch = Change{}
	switch r.Kind {
	case trace.KindRoute:
		if r.Route.Cloned {
			v.applyCache(r)
		} else {
			v.applyRoute(r)
		}
	case trace.KindNeigh:
		v.applyNeigh(r)
	case trace.KindLink:
		v.applyLink(r)
	}
	return &v.ch
}

// Routes returns the view's routes, route-cache entries (Cloned)
// included, sorted by family, table, destination, metric, cache flag,
// gateway and device.
func (v *View) Routes() []trace.Route {
	var out []trace.Route
	for _, es := range v.routes.nodes() {
		for _, x := range es {
			out = append(out, x.Route)
		}
	}
	for _, c := range v.cache {
		out = append(out, c.Route)
	}
	slices.SortFunc(out, CompareRoutes)
	return out
}

// RoutesOn returns the view's routes, route-cache entries excepted,
// whose Ifindex is ifindex, or all of them for ifindex 0, in no
// particular order.
func (v *View) RoutesOn(ifindex int) []trace.Route {
	var out []trace.Route
	for _, es := range v.routes.nodes() {
		for _, x := range es {
			if ifindex == 0 || x.Route.Ifindex == ifindex {
				out = append(out, x.Route)
			}
		}
	}
	return out
}

// Neighs returns the view's neighbour entries sorted by device and
// address.
func (v *View) Neighs() []trace.Neigh {
	out := make([]trace.Neigh, 0, len(v.neighs))
	for _, x := range v.neighs {
		out = append(out, x.Neigh)
	}
	slices.SortFunc(out, func(a, b trace.Neigh) int {
		if c := cmp.Compare(Dev(a.Dev, a.Ifindex), Dev(b.Dev, b.Ifindex)); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return out
}

// CompareRoutes orders routes by family, table, destination, metric,
// cache flag, gateway and device.
func CompareRoutes(a, b trace.Route) int {
	if c := cmp.Compare(a.Family, b.Family); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Dst.Bits(), b.Dst.Bits()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Metric, b.Metric); c != 0 {
		return c
	}
	if a.Cloned != b.Cloned {
		if a.Cloned {
			return 1
		}
		return -1
	}
	if c := a.Gateway.Compare(b.Gateway); c != 0 {
		return c
	}
	return cmp.Compare(Dev(a.Dev, a.Ifindex), Dev(b.Dev, b.Ifindex))
}

// Dev names a device by its name, or by its index when the name is
// unknown ("if7", as iproute2 does).
func Dev(name string, ifindex int) string {
	if name != "" || ifindex == 0 {
		return name
	}
	return fmt.Sprintf("if%d", ifindex)
}

// RouteDev names a route's device as links are named.
func RouteDev(r trace.Route) string { return Dev(r.Dev, r.Ifindex) }
