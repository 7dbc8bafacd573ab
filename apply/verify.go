package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/plan"
	"raceroute/apply/internal/rtnl"
	"raceroute/apply/internal/state"
)

// tally is a count of route keys and a sum of their hashes.
type tally struct {
	n   int
	sum uint64
}

// What a read-back checked (Result.Checked).
const checkedAll = "the tables hold exactly what the outcomes say"

// verifyReplaced is the read-back of a plan whose only writes are
// replaces of nexthop objects (plan.Replaced), every one acknowledged:
// what was written is what those objects hold, so that is what it reads
// back and checks: each replaced object is there, of our protocol,
// holding what was written (a group: its members, each resolved to what
// it holds). The routes that moved with them were not written: they
// name the object by id, and the kernel's replace changes the next hops
// of every route that names it at once (replace_nexthop_single() swaps
// the object's nh_info in place, replace_nexthop_grp() its group;
// net/ipv4/nexthop.c, 6.12), so there is nothing of theirs the writes
// could have got wrong. Which routes name the object was read when the
// plan was made; with Options.ReadBackMoved the routes are dumped again
// and the routes of ours in our tables that use each object must be
// exactly the routes the plan expects on it (as many, at the same keys:
// a sum of a 64-bit hash of each key, counted per object), which another
// writer's route moved off the object, deleted, or added to it since the
// plan was read would break.
func (w *Writer) verifyReplaced(ctx context.Context, res *Result, replaced map[uint32]state.Spec) error {
	p := res.Plan
	st, err := state.ReadNexthops(ctx, w.c)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	ids := slices.Sorted(maps.Keys(replaced))
	var bad []string
	for _, id := range ids {
		switch o := st.Nexthops[id]; {
		case o == nil:
			bad = append(bad, fmt.Sprintf("nexthop object %d is missing", id))
		case o.Proto != w.opts.Proto:
			bad = append(bad, fmt.Sprintf("nexthop object %d is of proto %s, not %s", id, o.Proto, w.opts.Proto))
		case o.Spec != replaced[id]:
			bad = append(bad, fmt.Sprintf("nexthop object %d reads back as %s, not as written (%s)", id, o.Spec, replaced[id]))
		}
	}
	routes := 0
	last, lastIn := uint32(0), false // the routes of a move mostly share one object
	for _, e := range plan.Expect(p) {
		if e.NHID != last {
			_, lastIn = replaced[e.NHID]
			last = e.NHID
		}
		if lastIn && e.Route != nil {
			routes++
		}
	}
	if w.opts.ReadBackMoved {
		moved, err := w.checkMoved(ctx, p, replaced, ids)
		if err != nil {
			return err
		}
		bad = append(bad, moved...)
	}
	if len(bad) > 0 {
		res.VerifyErr = fmt.Errorf("read back: %s", strings.Join(bad, "; "))
		return nil
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = strconv.FormatUint(uint64(id), 10)
	}
	res.Verified = true
	if w.opts.ReadBackMoved {
		res.Checked = fmt.Sprintf("nexthop object(s) %s hold what was written, and the %d route(s) of ours that use them still do (the plan's only writes)",
			strings.Join(names, ", "), routes)
	} else {
		res.Checked = fmt.Sprintf("nexthop object(s) %s hold what was written (the plan's only writes; the %d route(s) of ours that use them by id were read when planning, not again)",
			strings.Join(names, ", "), routes)
	}
	return nil
}

// checkMoved dumps the routes and checks that the routes of ours in p's
// tables using each replaced object (ids, sorted) are exactly those p
// expects on it; it returns what is not.
func (w *Writer) checkMoved(ctx context.Context, p *Plan, replaced map[uint32]state.Spec, ids []uint32) ([]string, error) {
	want := map[uint32]tally{}
	for _, e := range plan.Expect(p) {
		if _, ok := replaced[e.NHID]; ok && e.Route != nil {
			t := want[e.NHID]
			t.n, t.sum = t.n+1, t.sum+e.Key.Hash()
			want[e.NHID] = t
		}
	}
	got := map[uint32]tally{}
	if err := w.scanReplaced(ctx, p, replaced, got); err != nil {
		return nil, err
	}
	var bad []string
	for _, id := range ids {
		g, wt := got[id], want[id]
		switch {
		case g.n != wt.n:
			bad = append(bad, fmt.Sprintf("%d route(s) of ours use nexthop object %d, not the %d planned", g.n, id, wt.n))
		case g.sum != wt.sum:
			bad = append(bad, fmt.Sprintf("the %d route(s) of ours using nexthop object %d are not those planned", g.n, id))
		}
	}
	return bad, nil
}

// scanReplaced dumps the routes and counts, per replaced object, the
// routes of ours in p's tables that use it (a sum of their keys' hashes)
// into got.
func (w *Writer) scanReplaced(ctx context.Context, p *Plan, replaced map[uint32]state.Spec, got map[uint32]tally) error {
	owned := plan.Owned(p)
	err := state.ScanRoutes(ctx, w.c, func() { clear(got) }, func(r *rtnl.Route) {
		if r.NHID == 0 || r.Protocol != uint8(w.opts.Proto) || r.Flags&unix.RTM_F_CLONED != 0 || !owned[r.Table] {
			return
		}
		if _, ok := replaced[r.NHID]; !ok {
			return
		}
		t := got[r.NHID]
		t.n, t.sum = t.n+1, t.sum+state.WireKey(r).Hash() // the key as state.Read decodes it
		got[r.NHID] = t
	})
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	return nil
}
