// Package ndisc is IPv6 neighbour discovery input as net/ipv6/ndisc.c
// decides it, per kernel profile: ndisc_recv_na() (RecvNA) with its
// drop_unsolicited_na and accept_untracked_na tests and the neigh_update()
// flags it passes, and the entry update of ndisc_recv_ns() (RecvNS) with
// the flags of the solicited NA it answers with. It decides and says why;
// the entry's state machine is package nud (shared with ARP), and sending
// the answers, flushing queues and telling the story are the caller's
// (model/neigh).
//
// Read at 3.10.108, 3.16, 3.18.140, 4.2, 4.4.1, 4.9, 4.11, 4.12, 4.15,
// 4.19.1, 5.6.4, 5.10.7, 5.15.100, 6.6.9, 6.8 and 6.12, and in RHEL's
// 3.10.0-514, 3.10.0-1160, 4.18.0-147 and 4.18.0-240 (docs/kernel-notes-neigh.md,
// "Neighbour discovery"). There is no locktime on this path: locktime is
// read only by arp_process() (net/ipv4/arp.c); neigh_update() and
// __neigh_update() (net/core/neighbour.c) never compare n->updated with
// it, and nd_tbl leaves it 0.
package ndisc

import (
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// Flags are an NA's R, S and O bits (struct icmp6hdr icmp6_router,
// icmp6_solicited, icmp6_override).
type Flags uint8

// NA flags.
const (
	Router    Flags = 1 << iota // R: the sender is a router
	Solicited                   // S: an answer to an NS
	Override                    // O: override an existing cache entry
)

// NA is a neighbour advertisement on the wire, its addresses interned by
// the model.
type NA struct {
	Flags  Flags
	Target int   // the target address (IP index)
	TLL    uint8 // the target link-layer address option: interface + 1, 0 when absent
}

// In is a received NA and what ndisc_recv_na() reads besides it.
type In struct {
	NA NA
	// Multicast: sent to a multicast address (ff02::1), not to the
	// receiver's own.
	Multicast bool
	// TargetLocal: the target is an address of the receiving interface
	// (ipv6_get_ifaddr()).
	TargetLocal bool
	// The receiving interface's conf/IFACE/drop_unsolicited_na,
	// accept_untracked_na and forwarding.
	DropUnsolicited, AcceptUntracked, Forwarding uint8
	// SrcInPrefix: the NA's source is in a prefix of the receiving
	// interface (ipv6_chk_prefix(), for accept_untracked_na = 2).
	SrcInPrefix bool
}

// Rule names the branch ndisc_recv_na() took.
type Rule uint8

// ndisc_recv_na() branches.
const (
	Updated        Rule = iota // neigh_update() ran (Update says what it did)
	McastSolicited             // "NA: solicited NA is multicasted": dropped
	Dropped                    // drop_unsolicited_na = 1 and S clear: dropped
	OwnAddress                 // the target is ours: "someone advertises our address"
	NoEntry                    // no entry for the target, none created
	FailedEntry                // the entry is FAILED: left alone
)

// Why is what ndisc_recv_na() decided for an NA, and why.
type Why struct {
	Rule Rule
	// NoDropSysctl: the interface sets drop_unsolicited_na, which this
	// kernel does not have (before 4.6): the NA is not dropped.
	NoDropSysctl bool
	// Untracked is the accept_untracked_na value the kernel read when
	// there was no entry (0 when it has no such sysctl, or the interface
	// does not forward); Created: it created a STALE entry.
	Untracked uint8
	Created   bool
	// NoUntrackedSysctl: the interface sets accept_untracked_na, which
	// this kernel does not have (before 5.19), or the value 2, which it
	// does not know (before 6.0): no entry is created.
	NoUntrackedSysctl bool
	// State and Flags are what was passed to neigh_update():
	// REACHABLE for a solicited NA, else STALE; WEAK_OVERRIDE always,
	// OVERRIDE when O is set (OVERRIDE_ISROUTER and ISROUTER, from R,
	// change only the entry's router flag, which the model does not
	// keep).
	State nud.State
	Flags nud.Flags
	// Update is neigh_update()'s decision, when it ran.
	Update nud.UpdateWhy
	// Flush: the entry became valid: its queued packets leave now.
	Flush bool
}

// untracked is ndisc_recv_na()'s accept_untracked_na() (6.x): whether an
// NA for an address without an entry creates one, and the value read.
func untracked(k *profile.Profile, in *In) (v uint8, create, unknown bool) {
	v = in.AcceptUntracked
	switch {
	case k.AcceptUntrackedNA == profile.UntrackedNone || (k.AcceptUntrackedNA == profile.UntrackedBool && v > 1):
		return 0, false, v != 0
	case v == 1:
		return v, true, false
	case v == 2:
		return v, in.SrcInPrefix, false
	}
	return 0, false, false
}

// RecvNA is ndisc_recv_na() (net/ipv6/ndisc.c) for NA in on a device whose
// entry for the target is e (nil when the scenario holds none).
func RecvNA(d nud.Dev, in *In, e *nud.Entry) Why {
	var w Why
	na := &in.NA
	switch {
	case in.Multicast && na.Flags&Solicited != 0:
		// if (ipv6_addr_is_multicast(daddr) && msg->icmph.icmp6_solicited)
		w.Rule = McastSolicited
		return w
	case na.Flags&Solicited == 0 && in.DropUnsolicited != 0:
		// 4.6 on: if (!msg->icmph.icmp6_solicited && idev &&
		// idev->cnf.drop_unsolicited_na) return;
		if d.Kernel.DropUnsolicitedNA {
			w.Rule = Dropped
			return w
		}
		w.NoDropSysctl = true
	}
	if in.TargetLocal {
		// ifp = ipv6_get_ifaddr(..., &msg->target, dev, 1): a tentative
		// address fails DAD (addrconf_dad_failure()), any other is "NA:
		// someone advertises our address"; either way no entry changes.
		w.Rule = OwnAddress
		return w
	}
	exists := e != nil && e.Exists()
	w.State = nud.Stale
	if na.Flags&Solicited != 0 {
		w.State = nud.Reachable
	}
	if !exists {
		// 5.19 on: if (!neigh && lladdr && idev && idev->cnf.forwarding)
		// { if (accept_untracked_na(dev, saddr)) { neigh =
		// neigh_create(); new_state = NUD_STALE; } }
		w.Rule = NoEntry
		if e == nil || na.TLL == 0 || in.Forwarding == 0 {
			w.NoUntrackedSysctl = in.AcceptUntracked != 0 && d.Kernel.AcceptUntrackedNA == profile.UntrackedNone
			return w
		}
		v, create, unknown := untracked(d.Kernel, in)
		w.Untracked, w.NoUntrackedSysctl = v, unknown
		if !create {
			return w
		}
		*e = nud.Create(d.Now)
		w.Created, w.State, w.Rule = true, nud.Stale, Updated
	}
	if e.State&nud.Failed != 0 {
		// if (neigh->nud_state & NUD_FAILED) goto out;
		w.Rule = FailedEntry
		return w
	}
	w.Rule = Updated
	// neigh_update(neigh, lladdr, new_state, NEIGH_UPDATE_F_WEAK_OVERRIDE|
	// (override ? NEIGH_UPDATE_F_OVERRIDE : 0)|
	// NEIGH_UPDATE_F_OVERRIDE_ISROUTER|(router ? NEIGH_UPDATE_F_ISROUTER : 0))
	w.Flags = nud.WeakOverride
	if na.Flags&Override != 0 {
		w.Flags |= nud.Override
	}
	w.Update = nud.Update(d, e, na.TLL, w.State, w.Flags)
	w.Flush = w.Update.Old&nud.Valid == 0 && e.State&nud.Valid != 0
	return w
}

// NSWhy is what ndisc_recv_ns() did with an NS for one of the receiver's
// addresses, and the NA it answers with.
type NSWhy struct {
	// Update is the receiver's entry for the NS's source, when the
	// scenario holds one: created if missing, then neigh_update(STALE,
	// WEAK_OVERRIDE|OVERRIDE) with the source link-layer option.
	Update  nud.UpdateWhy
	Created bool
	// Answer is the solicited NA's flags: S, O only for a multicast NS
	// (override = ifp && inc), R when the receiver forwards; it carries
	// the target link-layer option only for a multicast NS (inc_opt = inc).
	Answer Flags
	TLL    bool
	Flush  bool
}

// RecvNS is ndisc_recv_ns() (net/ipv6/ndisc.c, 3.10 and 6.12 alike) on the
// owner of the target, for an NS from the interface sll (+1) sent to the
// solicited-node multicast address (multicast) or unicast; e is the
// receiver's entry for the NS's source, or nil. A tentative target (DAD)
// is not modelled: the owner always answers.
func RecvNS(d nud.Dev, e *nud.Entry, sll uint8, multicast bool, forwarding uint8) NSWhy {
	w := NSWhy{Answer: Solicited, TLL: multicast}
	if multicast {
		w.Answer |= Override
	}
	if forwarding != 0 {
		w.Answer |= Router
	}
	if e == nil {
		return w
	}
	// neigh = __neigh_lookup(&nd_tbl, saddr, dev, !inc || lladdr ||
	// !dev->addr_len): the NS carries the source link-layer option.
	if !e.Exists() {
		*e = nud.Create(d.Now)
		w.Created = true
	}
	w.Update = nud.Update(d, e, sll, nud.Stale, nud.WeakOverride|nud.Override)
	w.Flush = w.Update.Old&nud.Valid == 0 && e.State&nud.Valid != 0
	return w
}
