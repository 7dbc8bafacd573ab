package view

import (
	"cmp"
	"net/netip"
	"slices"

	"raceroute/trace"
)

// applyNeigh applies a neighbour record.
func (v *View) applyNeigh(r *trace.Record) {
	n := r.Neigh
	k := NeighKeyOf(n)
	old, had := v.neighs[k]
	v.ch.PrevNeigh = old
	if r.Action == trace.ActionDel {
		delete(v.neighs, k)
		return
	}
	entry := &NeighEntry{Neigh: n, Since: r.Time, Changed: r.Time}
	if had && old.Neigh.LLAddr == n.LLAddr {
		entry.Since = old.Since
	}
	if !n.LLAddr.IsValid() && had {
		// An INCOMPLETE or FAILED entry keeps no address; remember when
		// the old one was set for the evidence of later findings.
		entry.Since = old.Since
	}
	v.neighs[k] = entry
}

// Neigh returns a neighbour entry; the caller must not change it.
func (v *View) Neigh(k NeighKey) (*NeighEntry, bool) {
	n, ok := v.neighs[k]
	return n, ok
}

// NeighsOf returns the keys of the neighbour entries of addr, on any
// device, sorted by device.
func (v *View) NeighsOf(addr netip.Addr) []NeighKey {
	var keys []NeighKey
	for nk := range v.neighs {
		if nk.Addr == addr {
			keys = append(keys, nk)
		}
	}
	slices.SortFunc(keys, func(a, b NeighKey) int { return cmp.Compare(a.Dev, b.Dev) })
	return keys
}
