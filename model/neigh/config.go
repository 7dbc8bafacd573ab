// Package neigh is raceroute's executable model of the Linux ARP
// neighbour table on one L2 segment: hosts with interfaces, neighbour
// entries, kernel timers as actors, gratuitous-ARP senders, packet and
// TCP flows with their upper-layer confirmations (through the shared dst
// before 4.11, per socket from 4.11), and IP moves. The model is pure: a
// run is a function of its choices.
//
// The kernel's decisions live in two packages below, one concern each:
// nud is the neighbour-table state machine of net/core/neighbour.c
// (entries, NUD timers, neigh_update(), __neigh_event_send(), probes),
// arp is ARP input of net/ipv4/arp.c (arp_process(), arp_is_garp(),
// arp_accept()). This package is the scenario around them: the actors and
// their steps (Pending, Fire), which entry and which interface a decision
// applies to, the packets and frames it sends on, the properties, and the
// story told from each decision's "why" value (story.go), only when one
// is recorded.
//
// Times are integer milliseconds (jiffies at HZ=1000); comparisons follow
// the kernel's time_after(a, b), strictly after.
package neigh

import (
	"fmt"
	"net/netip"

	"raceroute/model/neigh/arp"
	"raceroute/model/neigh/ndisc"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// Limits of one scenario; the state is made of fixed arrays of these sizes.
const (
	MaxIfaces  = 8
	MaxIPs     = 16
	MaxEntries = 16
	MaxFlows   = 8
	MaxSenders = 4
	MaxMoves   = 4
	MaxWatches = 4
	MaxPackets = 24
)

// NUD states (include/net/neighbour.h, uapi/linux/neighbour.h), as
// package nud names them.
const (
	NUDNone       = nud.None
	NUDIncomplete = nud.Incomplete
	NUDReachable  = nud.Reachable
	NUDStale      = nud.Stale
	NUDDelay      = nud.Delay
	NUDProbe      = nud.Probe
	NUDFailed     = nud.Failed
	NUDNoARP      = nud.NoARP
	NUDPermanent  = nud.Permanent

	// NUDInTimer, NUDValid and NUDConnected are the kernel's state sets.
	NUDInTimer   = nud.InTimer
	NUDValid     = nud.Valid
	NUDConnected = nud.Connected
)

// StateName is iproute2's name of a NUD state.
func StateName(s nud.State) string { return s.String() }

// ParseState reads iproute2's name of a NUD state.
func ParseState(s string) (nud.State, bool) { return nud.Parse(s) }

// Entry is one neighbour entry (struct neighbour); see nud.Entry.
type Entry = nud.Entry

// Sysctl holds the per-interface neighbour parameters: the neigh_parms
// (/proc/sys/net/ipv4/neigh/IFACE/*, net/ipv6/neigh/IFACE/* on an IPv6
// interface), conf/IFACE/arp_accept and, on an IPv6 interface,
// net/ipv6/conf/IFACE/{drop_unsolicited_na,accept_untracked_na,forwarding}.
type Sysctl struct {
	nud.Parms
	ArpAccept uint8 // conf/IFACE/arp_accept, default 0
	// IPv6 only (ndisc_recv_na(), ndisc_recv_ns()), default 0.
	DropUnsolicitedNA, AcceptUntrackedNA, Forwarding uint8
}

// DefaultSysctl returns arp_tbl's defaults (net/ipv4/arp.c, arp_tbl).
func DefaultSysctl() Sysctl {
	return Sysctl{Parms: nud.Parms{Locktime: 1000, BaseReachable: 30000, DelayFirstProbe: 5000, Retrans: 1000,
		GcStale: 60000, UcastSolicit: 3, McastSolicit: 3}}
}

// DefaultSysctl6 returns nd_tbl's defaults (net/ipv6/ndisc.c, read at
// 3.10.108 and 6.12): as arp_tbl's but locktime 0 (nd_tbl sets none;
// only arp_process() reads it anyway).
func DefaultSysctl6() Sysctl {
	s := DefaultSysctl()
	s.Locktime = 0
	return s
}

// Iface is one interface of a host on the segment.
type Iface struct {
	Host   int
	Name   string
	MAC    [6]byte
	Prefix netip.Prefix // the on-link subnet (its route's dst is shared)
	Sysctl Sysctl
	// Draw is true when the interface needs its reachable_time drawn
	// (it sends traffic); its draw is a kernel actor.
	Draw bool
}

// V6 reports whether the interface is an IPv6 one: its entries are
// resolved by neighbour discovery (nd_tbl), not ARP. An interface holds
// one family.
func (f *Iface) V6() bool { return f.Prefix.Addr().Is6() }

// Host is a machine on the segment.
type Host struct {
	Name   string
	Ifaces []int
}

// InitEntry is a neighbour entry present at t=0.
type InitEntry struct {
	State nud.State
	LL    int // interface index whose MAC is the lladdr, or -1
	// Age is how long ago (ms) the entry was last confirmed/updated/used.
	Age int32
}

// Slot is a neighbour entry the scenario may hold: (interface, IP).
type Slot struct {
	Iface int
	IP    int
	Init  *InitEntry
}

// Window is a time window [Min, Max] in milliseconds.
type Window struct{ Min, Max int32 }

// ARP operations, and the unsolicited NA of a neighbour-discovery
// sender (NDISC_NEIGHBOUR_ADVERTISEMENT).
const (
	OpRequest       = arp.Request
	OpReply         = arp.Reply
	OpNA      uint8 = 136
)

// THA is what a sender puts in an ARP reply's target hardware address.
type THA = arp.THA

// Target hardware addresses.
const (
	THASelf      = arp.THASelf      // arping -A: the sender's own MAC (RFC 2002 gratuitous reply)
	THABroadcast = arp.THABroadcast // ff:ff:ff:ff:ff:ff
	THAZero      = arp.THAZero      // 00:00:00:00:00:00
)

// Packet is one frame of an ARP sender, After the previous one (the first
// after t=0).
type Packet struct {
	Op    uint8
	After Window
	THA   THA
	// NA: the flags of an OpNA packet (R and O; S is clear: unsolicited).
	NA ndisc.Flags
}

// Sender is a gratuitous-ARP sender (arping -U / -A, an agent's preset),
// or on an IPv6 interface an unsolicited-NA sender (OpNA packets).
type Sender struct {
	Name    string
	Iface   int // sending interface
	IP      int // the announced IP
	Unicast int // destination interface for unicast frames, -1 for broadcast
	Packets []Packet
	// Preset names the agent preset Packets come from ("" for frames
	// given by op or packets). The model reads only Packets; the live lab
	// runs the real program behind a preset (arping).
	Preset string
}

// Flow protocols.
const (
	ProtoICMP uint8 = iota + 1 // echo requests: no upper-layer confirmation
	ProtoTCP                   // segments acknowledged by the peer: tcp_ack() confirms
	// ProtoUDP: datagrams; with Flow.Confirm the application answers
	// each one after RTT and sends the next with MSG_CONFIRM, which
	// udp_sendmsg() turns into a confirmation of the datagram's own
	// neighbour; without it UDP never confirms.
	ProtoUDP
)

// Flow is a host sending to an address every Every (a ping, an SSH
// session, SYN retransmissions with Backoff).
type Flow struct {
	Name     string
	Iface    int
	IP       int
	Proto    uint8
	Start    Window
	Every    int32
	Jitter   int32
	Backoff  int32 // interval multiplier while unanswered (TCP RTO), 1 = none
	MaxEvery int32
	Count    int32 // 0 = until the horizon
	RTT      Window
	// Confirm: a UDP flow sends with MSG_CONFIRM once the peer answered.
	Confirm bool
}

// acked reports whether the peer answers f's delivered packets after RTT
// (TCP's ACKs, the replies a MSG_CONFIRM sender waits for).
func (f *Flow) acked() bool { return f.Proto == ProtoTCP || (f.Proto == ProtoUDP && f.Confirm) }

// Move moves IP from one interface to another at a time in At.
type Move struct {
	IP       int
	From, To int
	At       Window
}

// Watch kinds.
const (
	WatchConverges uint8 = iota + 1
	WatchBlackhole
	WatchStuck   // no-stuck-entry: Iface, IP, Limit
	WatchEvicted // not-evicted-in-use: Flow
	// WatchAnnounced: after the last announcement of IP (gratuitous ARP
	// or unsolicited NA) that reached Iface's host, its entry holds the
	// announced MAC.
	WatchAnnounced
)

// Watch is a property's subject.
type Watch struct {
	Kind  uint8
	Iface int // converges: the host interface holding the entry
	IP    int
	Flow  int   // blackhole: the flow
	Limit int32 // converges: within; blackhole: longest tolerated
	Move  int   // converges: the move it measures from, or -1
	// announced uses Iface and IP as converges does.
}

// Config is a compiled neighbour scenario: everything static, interned.
type Config struct {
	Profile profile.Profile
	Hosts   []Host
	Ifaces  []Iface
	IPs     []netip.Addr
	// Owner is the interface that owns each IP at t=0 (-1: nobody).
	Owner   []int
	Slots   []Slot
	Senders []Sender
	Flows   []Flow
	Moves   []Move
	Watches []Watch
	// Admins are the ip neigh agents, Tables the hosts whose table sizes
	// and garbage collection the scenario models (config_admin.go).
	Admins []Admin
	Tables []Table
	// Managed is the neigh_managed_work() of the one table whose entries
	// the ip neigh agents mark managed (managed.go); nil none.
	Managed *ManagedWork
	// Draws is the number of distinct reachable_time values the explorer
	// may choose; 0 means the kernel's own resolution (every ms in
	// [base/2, 3*base/2)).
	Draws int
	// DrawTimes realises every time window as an independent uniform draw
	// (an outcome of the step that schedules it) instead of a window of the
	// engine: the right reading for statistical runs, where each actor's
	// delay is independent. Exhaustive runs keep windows (two endpoints).
	DrawTimes bool
}

// Validate checks the sizes and references of c.
func (c *Config) Validate() error {
	switch {
	case len(c.Ifaces) == 0 || len(c.Ifaces) > MaxIfaces:
		return fmt.Errorf("want 1 to %d interfaces, have %d", MaxIfaces, len(c.Ifaces))
	case len(c.IPs) > MaxIPs:
		return fmt.Errorf("at most %d addresses, have %d", MaxIPs, len(c.IPs))
	case len(c.Slots) > MaxEntries:
		return fmt.Errorf("at most %d neighbour entries, have %d", MaxEntries, len(c.Slots))
	case len(c.Flows) > MaxFlows:
		return fmt.Errorf("at most %d flows, have %d", MaxFlows, len(c.Flows))
	case len(c.Senders) > MaxSenders:
		return fmt.Errorf("at most %d ARP senders, have %d", MaxSenders, len(c.Senders))
	case len(c.Moves) > MaxMoves:
		return fmt.Errorf("at most %d moves, have %d", MaxMoves, len(c.Moves))
	case len(c.Watches) > MaxWatches:
		return fmt.Errorf("at most %d properties, have %d", MaxWatches, len(c.Watches))
	case len(c.Owner) != len(c.IPs):
		return fmt.Errorf("owner table has %d rows for %d addresses", len(c.Owner), len(c.IPs))
	}
	for i, s := range c.Senders {
		if len(s.Packets) == 0 || len(s.Packets) > MaxPackets {
			return fmt.Errorf("ARP sender %s: want 1 to %d packets, have %d", s.Name, MaxPackets, len(s.Packets))
		}
		for _, p := range s.Packets {
			if p.After.Min < 0 || p.After.Max < p.After.Min {
				return fmt.Errorf("ARP sender %d: bad window [%d, %d]", i, p.After.Min, p.After.Max)
			}
			if (p.Op == OpNA) != c.Ifaces[s.Iface].V6() {
				return fmt.Errorf("sender %s: an IPv6 interface sends NAs, an IPv4 one ARP frames", s.Name)
			}
		}
	}
	for _, f := range c.Flows {
		if f.Every <= 0 {
			return fmt.Errorf("flow %s: every must be positive", f.Name)
		}
		if f.acked() && f.RTT.Max >= f.Every {
			return fmt.Errorf("flow %s: rtt %d ms must be shorter than the interval %d ms", f.Name, f.RTT.Max, f.Every)
		}
		if c.slot(f.Iface, f.IP) < 0 {
			return fmt.Errorf("flow %s: no neighbour slot for its destination", f.Name)
		}
		if c.IPs[f.IP].Is6() != c.Ifaces[f.Iface].V6() {
			return fmt.Errorf("flow %s: its destination is not of its interface's family", f.Name)
		}
	}
	if err := c.validateAdmin(); err != nil {
		return err
	}
	for _, w := range c.Watches {
		if (w.Kind == WatchConverges || w.Kind == WatchAnnounced) && c.slot(w.Iface, w.IP) < 0 {
			return fmt.Errorf("property: no neighbour slot for the watched entry")
		}
	}
	return nil
}

// slot returns the entry slot of (iface, ip), or -1.
func (c *Config) slot(iface, ip int) int {
	for i, s := range c.Slots {
		if s.Iface == iface && s.IP == ip {
			return i
		}
	}
	return -1
}
