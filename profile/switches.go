package profile

import (
	"fmt"

	"raceroute/kernel"
)

// IPv6Cache is how an IPv6 route lookup treats the route cache.
type IPv6Cache uint8

// IPv6 route-cache behaviours.
const (
	// CloneOnLookup: ip6_pol_route() (before 4.2) matches under the read
	// lock, drops it, allocates a /128 RTF_CACHE copy (rt6_alloc_cow /
	// rt6_alloc_clone) and inserts it with fib6_add() under the write lock.
	CloneOnLookup IPv6Cache = iota + 1
	// PerCPUCopies: from 4.2 (45e4fd26683c) lookups use per-CPU or
	// uncached copies and never insert clones into the tree.
	PerCPUCopies
	// ExceptionTable: from 4.15 (35732d01fe31, 2b760fcf5cfb) RTF_CACHE
	// entries (PMTU, redirects) live in a per-route exception table.
	ExceptionTable
)

// IPv6Replace is how fib6_add_rt2node() handles NLM_F_REPLACE.
type IPv6Replace uint8

// IPv6 replace semantics.
const (
	// ReplaceFirstSameMetric: 3.x replaces the first route at the node
	// with the same metric, whatever its gateway or device.
	ReplaceFirstSameMetric IPv6Replace = iota + 1
	// ReplaceECMPQuirk: 4.2 to 5.5 (27596472473a) replaces only a route
	// whose rt6_qualify_for_ecmp() equals the new route's; replacing a
	// gateway route by a device-only or reject route finds no match and,
	// with NLM_F_CREATE, adds it beside the old one.
	ReplaceECMPQuirk
	// ReplaceFixed: 5.6 on (e404b8c7cfb3): a route of the same ECMP kind
	// is preferred, else the first route with the same metric is replaced.
	ReplaceFixed
)

// GARPRecognition is which ARP packets arp_process() treats as
// gratuitous (and so lets override an existing entry within locktime).
type GARPRecognition uint8

// Gratuitous ARP recognition in arp_process().
const (
	// GARPNever: 3.10 (and RHEL 7.3): no gratuitous-ARP detection.
	GARPNever GARPRecognition = iota + 1
	// GARPRequestWithAccept: 3.14 to 4.11 (56022a8fdd87): a REQUEST with
	// target IP = sender IP, only when arp_accept = 1.
	GARPRequestWithAccept
	// GARPAlways: 4.12 on: requests and replies (target MAC = sender MAC)
	// are gratuitous and always override an existing entry; arp_accept
	// only gates creation.
	GARPAlways
	// GARPRequestOrReplyWithAccept: the 4.4.y and 4.9.y stable lines (and
	// Ubuntu 16.04 from 4.4.0-125) took "honour gratuitous ARP replies"
	// without "always override": requests and replies are gratuitous,
	// but only with arp_accept = 1. No mainline release behaves so.
	GARPRequestOrReplyWithAccept
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
	// UpdatedIfEffective: 4.12 on: timestamps change only when state or
	// lladdr changes.
	UpdatedIfEffective
	// UpdatedIfEffectiveConfirmedAlways: 4.19 on: as 4.12, but
	// `confirmed` is refreshed even when nothing else changes.
	UpdatedIfEffectiveConfirmedAlways
)

// SameLLStale is when neigh_update() keeps the old state for a STALE
// update that brings the lladdr the entry already has.
type SameLLStale uint8

// Same-lladdr STALE rules.
const (
	// SameLLKeepIfConnected: up to 4.4 (and RHEL 7): only with
	// NEIGH_UPDATE_F_WEAK_OVERRIDE or when the old state is CONNECTED.
	SameLLKeepIfConnected SameLLStale = iota + 1
	// SameLLKeepAlways: 4.5 to 4.8: for any update.
	SameLLKeepAlways
	// SameLLKeepUnlessAdmin: 4.9 on: unless NEIGH_UPDATE_F_ADMIN.
	SameLLKeepUnlessAdmin
)

// ExceptionGuard is when a flushed exception bucket refuses a late
// insert (rt6_insert_exception() returns -EINVAL).
type ExceptionGuard uint8

// Exception-table guards.
const (
	// GuardNone: no exception table (before 4.15).
	GuardNone ExceptionGuard = iota + 1
	// GuardPerRoute: 4.15 to 5.2, 4.19.y, RHEL 8: every flush of a route's
	// exceptions (a delete) marks its bucket.
	GuardPerRoute
	// GuardNexthopTeardown: 5.3 on: only a whole nexthop's teardown marks it.
	GuardNexthopTeardown
)

// ExceptionsInDump is what a route dump shows of route-cache entries.
type ExceptionsInDump uint8

// Route-cache entries in dumps.
const (
	// DumpInTree: before 4.15 cache entries are routes of the tree, dumped
	// with it.
	DumpInTree ExceptionsInDump = iota + 1
	// DumpHidden: 4.15 to 5.2: the exception table is not dumped.
	DumpHidden
	// DumpOnRequest: 5.3 on (1e47b4837f3b): listed for RTM_F_CLONED dumps,
	// and by every legacy (non-strict) dump; a strict dump without
	// RTM_F_CLONED leaves them out.
	DumpOnRequest
)

// NeighGC is what neigh_alloc() counts against gc_thresh2/3 and what
// neigh_forced_gc() removes.
type NeighGC uint8

// Forced garbage collection of the neighbour table.
const (
	// GCTableWalk: up to 4.19.y every entry counts, and forced GC walks
	// the whole hash table removing every unreferenced entry that is not
	// PERMANENT (nor NTF_EXT_LEARNED where the kernel has it).
	GCTableWalk NeighGC = iota + 1
	// GCList: 5.0 on (58956317c8de): only entries on tbl->gc_list
	// (neither PERMANENT nor NTF_EXT_LEARNED) count (gc_entries), and
	// forced GC removes from the list's head (oldest first) unreferenced
	// entries that are FAILED or not updated for 5 s, down to gc_thresh2.
	GCList
	// GCListNoARP: as GCList, and NOARP entries are removed too.
	GCListNoARP
)

// AcceptUntrackedNA is which values of accept_untracked_na a kernel has.
type AcceptUntrackedNA uint8

// accept_untracked_na support in ndisc_recv_na().
const (
	// UntrackedNone: no such sysctl; an NA for an address without an
	// entry creates nothing.
	UntrackedNone AcceptUntrackedNA = iota + 1
	// UntrackedBool: 0 or 1 (5.19; 5.18 had it as accept_unsolicited_na).
	UntrackedBool
	// UntrackedSubnet: 0, 1 or 2 (2: only for a source in a prefix of the
	// interface, ipv6_chk_prefix()).
	UntrackedSubnet
)

// switchDef ties a switch's name in facts.yaml to the Profile field the
// models read and to the names of its values, in kernel history order.
type switchDef struct {
	name   string
	field  string
	values []string
	// set stores value index i (0-based, as in values) into p.
	set func(p *Profile, i int)
	// get reads it back.
	get func(p *Profile) int
}

func enumSwitch[T ~uint8](name, fieldName string, field func(*Profile) *T, values ...string) switchDef {
	return switchDef{name: name, field: fieldName, values: values,
		set: func(p *Profile, i int) { *field(p) = T(i + 1) },
		get: func(p *Profile) int { return int(*field(p)) - 1 }}
}

func boolSwitch(name, fieldName string, field func(*Profile) *bool) switchDef {
	return switchDef{name: name, field: fieldName, values: []string{"no", "yes"},
		set: func(p *Profile, i int) { *field(p) = i == 1 },
		get: func(p *Profile) int {
			if *field(p) {
				return 1
			}
			return 0
		}}
}

// switchDefs lists every switch, in the order of facts.yaml. Adding a
// kernel is adding data to facts.yaml; adding a switch is one entry here,
// one in facts.yaml, and the model step that branches on it.
var switchDefs = []switchDef{
	enumSwitch("ipv6-cache", "IPv6Cache", func(p *Profile) *IPv6Cache { return &p.IPv6Cache }, "clone-on-lookup", "per-cpu", "exception-table"),
	enumSwitch("exception-guard", "ExceptionGuard", func(p *Profile) *ExceptionGuard { return &p.ExceptionGuard }, "none", "per-route", "nexthop-teardown"),
	boolSwitch("exception-flush-on-replace", "FlushExceptionsOnReplace", func(p *Profile) *bool { return &p.FlushExceptionsOnReplace }),
	enumSwitch("exceptions-in-dump", "ExceptionsInDump", func(p *Profile) *ExceptionsInDump { return &p.ExceptionsInDump }, "in-tree", "hidden", "on-request"),
	enumSwitch("ipv6-replace", "IPv6Replace", func(p *Profile) *IPv6Replace { return &p.IPv6Replace }, "first-same-metric", "ecmp-quirk", "fixed"),
	{name: "unreachable-error", field: "UnreachableErr", values: []string{"ENETUNREACH", "EHOSTUNREACH"},
		set: func(p *Profile, i int) {
			p.UnreachableErr = [...]kernel.Errno{kernel.ENETUNREACH, kernel.EHOSTUNREACH}[i]
		},
		get: func(p *Profile) int {
			if p.UnreachableErr == kernel.EHOSTUNREACH {
				return 1
			}
			return 0
		}},
	enumSwitch("neigh-updated", "Updated", func(p *Profile) *UpdatedTimestamps { return &p.Updated }, "always", "if-effective", "if-effective-confirmed-always"),
	enumSwitch("same-lladdr-stale", "SameLLStale", func(p *Profile) *SameLLStale { return &p.SameLLStale }, "weak-override-or-connected", "always-keep", "keep-unless-admin"),
	{name: "garp", field: "GARP", values: []string{"never", "request-with-accept", "request-or-reply-with-accept", "always"},
		set: func(p *Profile, i int) {
			p.GARP = [...]GARPRecognition{GARPNever, GARPRequestWithAccept, GARPRequestOrReplyWithAccept, GARPAlways}[i]
		},
		get: func(p *Profile) int {
			return map[GARPRecognition]int{GARPNever: 0, GARPRequestWithAccept: 1, GARPRequestOrReplyWithAccept: 2, GARPAlways: 3}[p.GARP]
		}},
	enumSwitch("confirmation", "Confirmation", func(p *Profile) *Confirmation { return &p.Confirmation }, "shared-dst", "per-skb"),
	boolSwitch("arp-accept-subnet", "ArpAcceptSubnet", func(p *Profile) *bool { return &p.ArpAcceptSubnet }),
	boolSwitch("mcast-reprobes", "McastReprobes", func(p *Profile) *bool { return &p.McastReprobes }),
	{name: "timer-min-rearm", field: "TimerMinRearm", values: []string{"hz/2", "hz/100"},
		set: func(p *Profile, i int) { p.TimerMinRearm = [...]int32{500, 10}[i] },
		get: func(p *Profile) int {
			if p.TimerMinRearm == 10 {
				return 1
			}
			return 0
		}},
	boolSwitch("timer-raises-used", "TimerRaisesUsed", func(p *Profile) *bool { return &p.TimerRaisesUsed }),
	boolSwitch("ipv6-del-siblings", "DelSiblings", func(p *Profile) *bool { return &p.DelSiblings }),
	boolSwitch("drop-unsolicited-na", "DropUnsolicitedNA", func(p *Profile) *bool { return &p.DropUnsolicitedNA }),
	enumSwitch("accept-untracked-na", "AcceptUntrackedNA", func(p *Profile) *AcceptUntrackedNA { return &p.AcceptUntrackedNA }, "no", "yes", "subnet"),
	boolSwitch("nexthop-objects", "NexthopObjects", func(p *Profile) *bool { return &p.NexthopObjects }),
	boolSwitch("neigh-del-removes", "NeighDelRemoves", func(p *Profile) *bool { return &p.NeighDelRemoves }),
	boolSwitch("neigh-ext-learned", "NeighExtLearned", func(p *Profile) *bool { return &p.NeighExtLearned }),
	enumSwitch("neigh-gc", "NeighGC", func(p *Profile) *NeighGC { return &p.NeighGC }, "table-walk", "gc-list", "gc-list-noarp"),
	boolSwitch("neigh-use-update", "NeighUseUpdate", func(p *Profile) *bool { return &p.NeighUseUpdate }),
	boolSwitch("neigh-managed", "NeighManaged", func(p *Profile) *bool { return &p.NeighManaged }),
}

func switchByName(name string) (*switchDef, int, error) {
	for i := range switchDefs {
		if switchDefs[i].name == name {
			return &switchDefs[i], i, nil
		}
	}
	return nil, -1, fmt.Errorf("unknown switch %q", name)
}

func (d *switchDef) index(value string) (int, error) {
	for i, v := range d.values {
		if v == value {
			return i, nil
		}
	}
	return -1, fmt.Errorf("switch %s has no value %q (values: %v)", d.name, value, d.values)
}

// SwitchField names the Profile field that holds switch name ("" when
// there is no such switch): tests check that a model reads only the
// fields of the switches it declares.
func SwitchField(name string) string {
	d, _, err := switchByName(name)
	if err != nil {
		return ""
	}
	return d.field
}

// Switches names every behaviour switch, in order.
func Switches() []string {
	out := make([]string, len(switchDefs))
	for i, d := range switchDefs {
		out[i] = d.name
	}
	return out
}

// SwitchValues names the values of a switch, in kernel history order.
func SwitchValues(name string) ([]string, error) {
	d, _, err := switchByName(name)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), d.values...), nil
}

func (c IPv6Cache) String() string         { return nameOf("ipv6-cache", int(c)-1) }
func (r IPv6Replace) String() string       { return nameOf("ipv6-replace", int(r)-1) }
func (u UpdatedTimestamps) String() string { return nameOf("neigh-updated", int(u)-1) }
func (c Confirmation) String() string      { return nameOf("confirmation", int(c)-1) }
func (s SameLLStale) String() string       { return nameOf("same-lladdr-stale", int(s)-1) }
func (g ExceptionGuard) String() string    { return nameOf("exception-guard", int(g)-1) }
func (d ExceptionsInDump) String() string  { return nameOf("exceptions-in-dump", int(d)-1) }
func (a AcceptUntrackedNA) String() string { return nameOf("accept-untracked-na", int(a)-1) }
func (g NeighGC) String() string           { return nameOf("neigh-gc", int(g)-1) }

func (g GARPRecognition) String() string {
	switch g {
	case GARPNever:
		return "never"
	case GARPRequestWithAccept:
		return "request-with-accept"
	case GARPRequestOrReplyWithAccept:
		return "request-or-reply-with-accept"
	case GARPAlways:
		return "always"
	}
	return "unknown"
}

func nameOf(sw string, i int) string {
	d, _, _ := switchByName(sw)
	if d == nil || i < 0 || i >= len(d.values) {
		return "unknown"
	}
	return d.values[i]
}
