// Package arp is IPv4 ARP input as net/ipv4/arp.c decides it, per kernel
// profile: arp_process() (Process) with the gratuitous-ARP recognition of
// arp_is_garp() and the entry creation of arp_accept(). It decides and
// says why; the entry's state machine is package nud, and sending the
// replies, flushing queues and telling the story are the caller's
// (model/neigh).
package arp

import (
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// ARP operations (ar_op).
const (
	Request uint8 = 1 // ARPOP_REQUEST
	Reply   uint8 = 2 // ARPOP_REPLY
)

// THA is what a sender puts in an ARP reply's target hardware address.
type THA uint8

// Target hardware addresses.
const (
	THASelf      THA = iota // arping -A: the sender's own MAC (RFC 2002 gratuitous reply)
	THABroadcast            // ff:ff:ff:ff:ff:ff
	THAZero                 // 00:00:00:00:00:00
)

// Frame is an ARP packet on the wire, its addresses interned by the model.
type Frame struct {
	Op       uint8
	SHA      uint8 // sender interface + 1 (its MAC is the sender hardware address)
	SIP, TIP int   // IP indices (-1: an address outside the scenario)
	THA      THA
	THAIface uint8 // for THA == THASelf on replies to a requester: that interface + 1
}

// In is a received frame and what arp_process() reads besides it.
type In struct {
	Frame   Frame
	Unicast bool // sent to the receiver's MAC (pkt_type PACKET_HOST), not broadcast
	// TargetLocal: the target IP is an address of the receiving
	// interface (ip_route_input() gives RTN_LOCAL).
	TargetLocal bool
	// Accept is the receiving interface's conf/DEV/arp_accept, and
	// InSubnet whether the sender is in one of its subnets (6.x
	// arp_accept = 2).
	Accept   uint8
	InSubnet bool
}

// Why is what arp_process() decided for a frame, and why.
type Why struct {
	// ForUs: a request for our address: neigh_event_ns() (STALE,
	// override) and a reply to the sender.
	ForUs bool
	// Garp: tip == sip, the frame looks gratuitous; ReplyOK: arp_is_garp()'s
	// rule for replies (tha == sha) holds, or it is a request; Recognised:
	// the kernel treats it as gratuitous (is_garp), which overrides
	// locktime.
	Garp, ReplyOK, Recognised bool
	// Created: arp_accept let the frame create the entry; Exists: there is
	// an entry to update (created or found).
	Created, Exists bool
	// LockPassed: time_after(now, updated + locktime); Override:
	// LockPassed or Recognised.
	LockPassed, Override bool
	// State is the state proposed to neigh_update(): REACHABLE for a
	// unicast reply, else STALE.
	State nud.State
	// Update is neigh_update()'s decision, when it ran.
	Update nud.UpdateWhy
	// Flush: the entry's queued packets leave now (neigh_update()'s
	// arp_queue flush); the caller sends them.
	Flush bool
}

// accept is the interface's arp_accept decision for creating entries: a
// boolean before 6.x; 6.x arp_accept() takes 0, 1 or 2 (2: only a sender
// in a subnet of the interface).
func accept(k *profile.Profile, in *In) bool {
	a := in.Accept
	if !k.ArpAcceptSubnet || a < 2 {
		return a != 0
	}
	if a > 2 || in.Frame.SIP < 0 {
		return false
	}
	return in.InSubnet
}

// Process is arp_process() (net/ipv4/arp.c) for frame in on a device whose
// entry for the sender is e (nil when the scenario holds none): the
// request-for-us path through neigh_event_ns(), then per profile the
// gratuitous-ARP recognition and entry creation, the locktime override
// and neigh_update().
func Process(d nud.Dev, in *In, e *nud.Entry) Why {
	f := &in.Frame
	var w Why
	if f.Op == Request && in.TargetLocal && f.TIP != f.SIP {
		// neigh_event_ns(): __neigh_lookup(create) then neigh_update(STALE,
		// OVERRIDE), whatever locktime.
		w.ForUs = true
		if e != nil {
			if !e.Exists() {
				*e = nud.Create(d.Now)
			}
			w.Update = nud.Update(d, e, f.SHA, nud.Stale, nud.Override)
			w.Flush = w.Update.Old&nud.Valid == 0
		}
		return w
	}
	k := d.Kernel
	w.Exists = e != nil && e.Exists()
	w.Garp = f.TIP == f.SIP && f.SIP >= 0
	w.ReplyOK = f.Op == Request || (f.THA == THASelf && f.THAIface == f.SHA)
	switch k.GARP {
	case profile.GARPNever:
		// 3.10 (RHEL 7.3): no gratuitous-ARP detection in arp_process().
		w.Created = !w.Exists && e != nil && in.Accept != 0 && (f.Op == Reply || w.Garp)
	case profile.GARPRequestWithAccept:
		// 3.14..4.11 ("ipv4: arp: update neighbour address when a
		// gratuitous arp is received and arp_accept is set").
		if in.Accept != 0 {
			w.Recognised = w.Garp && f.Op == Request
			w.Created = !w.Exists && e != nil && (f.Op == Reply || w.Recognised)
		}
	case profile.GARPRequestOrReplyWithAccept:
		// The 4.4.y and 4.9.y stable lines (and Ubuntu 16.04 from
		// 4.4.0-125): "arp: honour gratuitous ARP _replies_" without
		// "always override": is_garp for requests and for replies with
		// tha == sha, still only inside if (IN_DEV_ARP_ACCEPT(in_dev))
		// (arp.c at 4.9.229, read).
		if in.Accept != 0 {
			w.Recognised = w.Garp && w.ReplyOK
			w.Created = !w.Exists && e != nil && (f.Op == Reply || w.Recognised)
		}
	case profile.GARPAlways:
		// 4.12 on: arp_is_garp(); requests, and replies whose target MAC
		// is the sender's; always overrides an existing entry.
		acc := accept(k, in)
		if w.Exists || acc {
			w.Recognised = w.Garp && w.ReplyOK
		}
		w.Created = acc && !w.Exists && e != nil && (w.Recognised || f.Op == Reply)
	}
	if w.Created {
		*e = nud.Create(d.Now)
		w.Exists = true
	}
	if !w.Exists {
		return w
	}
	// override = time_after(jiffies, n->updated + locktime) || is_garp
	w.LockPassed = d.Now > e.Updated+d.Parms.Locktime
	w.Override = w.LockPassed || w.Recognised
	w.State = nud.Stale
	if f.Op == Reply && in.Unicast {
		w.State = nud.Reachable
	}
	var flags nud.Flags
	if w.Override {
		flags = nud.Override
	}
	w.Update = nud.Update(d, e, f.SHA, w.State, flags)
	w.Flush = w.Update.Old&nud.Valid == 0 && e.State&nud.Valid != 0
	return w
}
