// Package fib6ns is the namespace a fib_tests case changes, as the
// kernel outside model/fib6 keeps it: the devices (up, carrier, VRF
// table, IPv6 addresses), the IPv6 table model/fib6 holds, and what
// happens to that table around the model: each route request's nexthop
// checked and the request put to a fresh model (routes.go), the prefix
// routes addrconf makes and removes, link down and up, unregister and
// `ip -6 route get fibmatch` (addrconf.go), and the listing iproute2
// prints. selftests/fib6run reads a case's steps into calls on an NS.
//
// The package is pure: no I/O, no kernel.
package fib6ns

import (
	"maps"
	"slices"

	"raceroute/model/fib6"
	"raceroute/profile"
)

// Dev is a device of the modelled namespace.
type Dev struct {
	Up    bool
	Table uint32 // the VRF table it is enslaved to, or main
	VRF   uint32 // for a VRF device: its table
	Addrs []Addr // its IPv6 addresses, in the order added
	Peer  string // a veth's other end
	// KeepAddr is net.ipv6.conf.DEV.keep_addr_on_down > 0.
	KeepAddr bool
	// NoCarrier: `ip link set DEV carrier off` (a dummy's carrier).
	NoCarrier bool
	Kind      string // dummy, veth, vrf ...
}

// NS is the modelled namespace.
type NS struct {
	// Profile is the kernel whose behaviour the namespace follows.
	Profile profile.Profile
	// Table is the IPv6 table in dump order.
	Table []fib6.Route
	Devs  map[string]*Dev
	// KeepAddr is net.ipv6.conf.all.keep_addr_on_down > 0.
	KeepAddr bool
	// dead are the ECMP legs flagged RTNH_F_DEAD (their device went down
	// while a sibling's did not).
	dead map[fib6.Route]bool
	// mtu are the RTAX_MTU metrics of routes that have one.
	mtu map[fib6.Route]uint32
}

// New is an empty namespace on p's kernel: lo, up, and no routes.
func New(p profile.Profile) *NS {
	return &NS{
		Profile: p,
		Devs:    map[string]*Dev{"lo": {Up: true, Table: fib6.MainTable}},
		dead:    map[fib6.Route]bool{},
		mtu:     map[fib6.Route]uint32{},
	}
}

// Clone is a deep copy of ns: a case starts from a set-up's namespace
// without changing it.
func (ns *NS) Clone() *NS {
	c := &NS{
		Profile:  ns.Profile,
		Table:    slices.Clone(ns.Table),
		Devs:     map[string]*Dev{},
		KeepAddr: ns.KeepAddr,
		dead:     maps.Clone(ns.dead),
		mtu:      maps.Clone(ns.mtu),
	}
	for k, d := range ns.Devs {
		dd := *d
		dd.Addrs = slices.Clone(d.Addrs)
		c.Devs[k] = &dd
	}
	return c
}
