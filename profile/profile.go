// Package profile names the kernel versions raceroute models as sets of
// behaviour switches. Each switch says which kernel function and version
// it comes from; the models branch on switches, never on version names.
package profile

import (
	"fmt"
	"raceroute/kernel"
	"sort"
	"strings"
)

// IPv6Cache is how an IPv6 route lookup treats the route cache.
type IPv6Cache uint8

// IPv6 route-cache behaviours.
const (
	// CloneOnLookup: ip6_pol_route() (before 4.2) matches under the read
	// lock, drops it, allocates a /128 RTF_CACHE copy (rt6_alloc_cow /
	// rt6_alloc_clone) and inserts it with fib6_add() under the write lock.
	CloneOnLookup IPv6Cache = iota + 1
	// PerCPUCopies: from 4.2 (commit 45e4fd26 "ipv6: Only create RTF_CACHE
	// routes after encountering pmtu exception") lookups use per-CPU or
	// uncached copies and never insert clones into the tree.
	PerCPUCopies
	// ExceptionTable: from 4.15 (commit 2b760fcf5cfb) RTF_CACHE entries
	// (PMTU, redirects) live in a per-route exception table instead of the
	// tree. Up to 5.2 a flushed bucket refused late inserts
	// (exception_bucket_flushed, rt6_insert_exception() -EINVAL); in 6.x
	// the FIB6_EXCEPTION_BUCKET_FLUSHED mark is set only when a whole
	// nexthop is torn down (docs/kernel-notes-fib6.md). Lookups insert
	// nothing either way.
	ExceptionTable
)

// IPv6Replace is how fib6_add_rt2node() handles NLM_F_REPLACE.
type IPv6Replace uint8

// IPv6 replace semantics.
const (
	// ReplaceFirstSameMetric: 3.x fib6_add_rt2node() replaces the first
	// route at the node with the same metric, whatever its gateway or
	// device.
	ReplaceFirstSameMetric IPv6Replace = iota + 1
	// ReplaceECMPQuirk: 4.2 to 5.5 fib6_add_rt2node() replaces only a
	// route whose rt6_qualify_for_ecmp() equals the new route's; replacing
	// a gateway route by a device-only or reject route finds no match and,
	// with NLM_F_CREATE, adds it beside the old one.
	ReplaceECMPQuirk
	// ReplaceFixed: 5.6 on (e404b8c7cfb3 "ipv6: Fix route replacement
	// with dev-only route", also in 4.14.y and 5.4.y stable from March
	// 2020): a route of the same ECMP kind is preferred, else the first
	// route with the same metric is replaced.
	ReplaceFixed
)

// GARPRecognition is which ARP packets arp_process() treats as
// gratuitous (and so lets override an existing entry within locktime).
type GARPRecognition uint8

// Gratuitous ARP recognition in arp_process().
const (
	// GARPNever: 3.10 (RHEL 7.3): no gratuitous-ARP detection; arp_accept
	// only allows creating an entry from an unsolicited packet.
	GARPNever GARPRecognition = iota + 1
	// GARPRequestWithAccept: 3.14 to 4.11 ("ipv4: arp: update neighbour
	// address when a gratuitous arp is received and arp_accept is set"):
	// a REQUEST with target IP = sender IP, only when arp_accept = 1.
	GARPRequestWithAccept
	// GARPAlways: 4.12 on: requests and replies (target MAC = sender MAC)
	// are gratuitous and always override an existing entry; arp_accept
	// only gates creation.
	GARPAlways
)

// Confirmation is how upper layers confirm a neighbour's reachability.
type Confirmation uint8

// Upper-layer confirmation paths.
const (
	// ConfirmSharedDst: before 4.11 dst_confirm() sets a flag on the
	// shared dst_entry; the next packet through that dst, to whatever
	// neighbour, consumes it and confirms that neighbour.
	ConfirmSharedDst Confirmation = iota + 1
	// ConfirmPerSkb: 4.11 on ("dst_confirm replacement" series): the flag
	// travels with the socket/skb and confirms only the neighbour used.
	ConfirmPerSkb
)

// UpdatedTimestamps is when neigh_update() moves n->updated.
type UpdatedTimestamps uint8

// neigh_update() timestamp behaviours.
const (
	// UpdatedAlways: up to 4.11 neigh_update() sets updated = now before
	// the override check, so an ignored update slides the locktime
	// window ("moving window").
	UpdatedAlways UpdatedTimestamps = iota + 1
	// UpdatedIfEffective: 4.12 on ("neighbour: update neigh timestamps iff
	// update is effective"): timestamps change only when state or lladdr
	// changes.
	UpdatedIfEffective
	// UpdatedIfEffectiveConfirmedAlways: 4.20 and 6.x: as 4.12, but
	// `confirmed` is refreshed even when nothing else changes.
	UpdatedIfEffectiveConfirmedAlways
)

// Profile is a kernel version as a named set of behaviour switches.
type Profile struct {
	Name        string // e.g. "linux-3.16"
	Description string

	IPv6Cache   IPv6Cache
	IPv6Replace IPv6Replace
	// UnreachableErr is dst.error of an RTN_UNREACHABLE route, set in
	// ip6_route_add() (or ip6_route_info_create()): -ENETUNREACH (-101)
	// in 3.x, -EHOSTUNREACH (-113) later.
	UnreachableErr kernel.Errno

	Updated      UpdatedTimestamps
	GARP         GARPRecognition
	Confirmation Confirmation
	// ArpAcceptSubnet: 6.x arp_accept = 2 creates an entry only when the
	// sender IP is in a subnet of the interface (arp_accept_subnet).
	ArpAcceptSubnet bool
}

// ClonesOnLookup reports whether a route lookup inserts /128 clones.
func (p Profile) ClonesOnLookup() bool { return p.IPv6Cache == CloneOnLookup }

// all is built fresh on each call so that no caller can change another's
// profiles.
func all() []Profile {
	return []Profile{
		{
			Name:        "linux-3.10-rhel7.3",
			Description: "RHEL 7.3 (3.10.0-514): IPv6 clone-on-lookup, no gratuitous-ARP recognition, moving locktime window, shared-dst confirmation",
			IPv6Cache:   CloneOnLookup, IPv6Replace: ReplaceFirstSameMetric, UnreachableErr: kernel.ENETUNREACH,
			Updated: UpdatedAlways, GARP: GARPNever, Confirmation: ConfirmSharedDst,
		},
		{
			Name:        "linux-3.16",
			Description: "Debian 8 (3.16): IPv6 clone-on-lookup, gratuitous requests honoured with arp_accept=1, moving window, shared-dst confirmation",
			IPv6Cache:   CloneOnLookup, IPv6Replace: ReplaceFirstSameMetric, UnreachableErr: kernel.ENETUNREACH,
			Updated: UpdatedAlways, GARP: GARPRequestWithAccept, Confirmation: ConfirmSharedDst,
		},
		{
			Name:        "linux-4.2",
			Description: "4.2: no clones on lookup; IPv6 replace ECMP quirk; neighbour layer as 3.16",
			IPv6Cache:   PerCPUCopies, IPv6Replace: ReplaceECMPQuirk, UnreachableErr: kernel.ENETUNREACH,
			Updated: UpdatedAlways, GARP: GARPRequestWithAccept, Confirmation: ConfirmSharedDst,
		},
		{
			Name:        "linux-4.11",
			Description: "4.11: per-skb neighbour confirmation; otherwise as 4.2",
			IPv6Cache:   PerCPUCopies, IPv6Replace: ReplaceECMPQuirk, UnreachableErr: kernel.EHOSTUNREACH,
			Updated: UpdatedAlways, GARP: GARPRequestWithAccept, Confirmation: ConfirmPerSkb,
		},
		{
			Name:        "linux-4.12",
			Description: "4.12: neighbour timestamps only on effective updates; gratuitous requests and replies always override",
			IPv6Cache:   PerCPUCopies, IPv6Replace: ReplaceECMPQuirk, UnreachableErr: kernel.EHOSTUNREACH,
			Updated: UpdatedIfEffective, GARP: GARPAlways, Confirmation: ConfirmPerSkb,
		},
		{
			Name:        "linux-5.6",
			Description: "5.6: IPv6 replace by a device-only or reject route fixed; exception table",
			IPv6Cache:   ExceptionTable, IPv6Replace: ReplaceFixed, UnreachableErr: kernel.EHOSTUNREACH,
			Updated: UpdatedIfEffectiveConfirmedAlways, GARP: GARPAlways, Confirmation: ConfirmPerSkb,
		},
		{
			Name:        "linux-6.x",
			Description: "6.x: exception table with flushed-bucket guard; arp_accept 0/1/2",
			IPv6Cache:   ExceptionTable, IPv6Replace: ReplaceFixed, UnreachableErr: kernel.EHOSTUNREACH,
			Updated: UpdatedIfEffectiveConfirmedAlways, GARP: GARPAlways, Confirmation: ConfirmPerSkb,
			ArpAcceptSubnet: true,
		},
	}
}

// All returns every profile, oldest kernel first.
func All() []Profile { return all() }

// Names returns the profile names, oldest kernel first.
func Names() []string {
	ps := all()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the profile called name.
func Lookup(name string) (Profile, error) {
	for _, p := range all() {
		if p.Name == name {
			return p, nil
		}
	}
	known := Names()
	sort.Strings(known)
	return Profile{}, fmt.Errorf("unknown kernel profile %q (known: %s)", name, strings.Join(known, ", "))
}

func (c IPv6Cache) String() string {
	switch c {
	case CloneOnLookup:
		return "clone on lookup"
	case PerCPUCopies:
		return "per-CPU copies, no clones"
	case ExceptionTable:
		return "exception table"
	}
	return "unknown"
}

func (r IPv6Replace) String() string {
	switch r {
	case ReplaceFirstSameMetric:
		return "first route of the same metric"
	case ReplaceECMPQuirk:
		return "same ECMP kind only (4.2-5.5 quirk)"
	case ReplaceFixed:
		return "fixed (5.6)"
	}
	return "unknown"
}

func (u UpdatedTimestamps) String() string {
	switch u {
	case UpdatedAlways:
		return "always (moving locktime window)"
	case UpdatedIfEffective:
		return "only on effective updates"
	case UpdatedIfEffectiveConfirmedAlways:
		return "only on effective updates, confirmed always"
	}
	return "unknown"
}

func (g GARPRecognition) String() string {
	switch g {
	case GARPNever:
		return "never recognised"
	case GARPRequestWithAccept:
		return "requests, with arp_accept=1"
	case GARPAlways:
		return "requests and replies, always"
	}
	return "unknown"
}

func (c Confirmation) String() string {
	switch c {
	case ConfirmSharedDst:
		return "shared dst"
	case ConfirmPerSkb:
		return "per skb"
	}
	return "unknown"
}
