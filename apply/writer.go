package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/mem"
	"raceroute/apply/internal/plan"
	"raceroute/apply/internal/rtnl"
	"raceroute/apply/internal/state"
	"raceroute/kernel"
	"raceroute/live/host"
	"raceroute/profile"
)

// DefaultProto is the routing protocol number the writer's routes carry
// when Options.Proto is not set: iproute2 names nothing 250, so that
// `ip route show proto 250` lists exactly the writer's routes.
const DefaultProto kernel.Proto = 250

// Options configure a Writer.
type Options struct {
	// Netns is the namespace (a name under /run/netns or a path), "" for
	// the caller's.
	Netns string
	// Proto is the rtm_protocol of every route the writer writes, and
	// the only one it ever changes or deletes (DefaultProto if 0).
	Proto kernel.Proto
	// Tables are the routing tables the writer owns, beside main and
	// those its desired routes name; with Prune, routes of Proto in them
	// that are not desired are deleted.
	Tables []uint32
	// Prune deletes the routes of Proto in the owned tables that are not
	// desired.
	Prune bool
	// Nexthops says whether to use nexthop objects (NexthopsAuto if "").
	Nexthops NexthopMode
	// Profile is the kernel profile strategies are chosen for; nil: the
	// running kernel's (live/host).
	Profile *profile.Profile
	// Batch is the most requests per sendmsg (rtnl.DefaultBatch if 0).
	Batch int
	// RollbackOnError restores the state before Apply when a change
	// fails or does not read back as written.
	RollbackOnError bool
	// Settle is how long the writer waits before it heals the IPv6 route
	// cache on kernels that clone on lookup, for lookups that matched
	// the old route to insert their clones (50 ms if 0).
	Settle time.Duration
	// NexthopIDBase is the lowest id the writer gives a new nexthop
	// object (Proto<<24 + 1 if 0, so that writers of different protocols
	// draw from different ranges).
	NexthopIDBase uint32
	// Progress, if set, is told how many requests of how many have an
	// answer, after every batch.
	Progress func(done, total int)
	// ReadBackMoved: when a plan's only writes are nexthop object
	// replaces, the read-back also dumps the routes and checks that the
	// routes of ours using each replaced object are still exactly those
	// planned on it. Those routes were not written (they name the object
	// by id), so by default only the objects are read back; this catches
	// another writer's change to them since the plan read the tables.
	ReadBackMoved bool
}

// Writer holds routes of one protocol in one namespace at a desired
// state: it reads the kernel's tables, plans the difference, writes it
// in batches with every acknowledgement checked, and reads it back.
type Writer struct {
	opts Options
	prof profile.Profile
	c    *rtnl.Conn
	// pre delivers the tables Prefetch read; nil when none is under way.
	pre chan prefetched
	// dumping: a prefetch is reading the tables.
	dumping atomic.Bool
}

// prefetched is what Prefetch read, for the tables owned.
type prefetched struct {
	st    *state.State
	err   error
	owned map[uint32]bool
}

// Open opens a writer on the namespace of opts.
func Open(opts Options) (*Writer, error) {
	if opts.Proto == 0 {
		opts.Proto = DefaultProto
	}
	switch opts.Proto {
	case kernel.ProtoUnspec, kernel.ProtoRedirect, kernel.ProtoKernel:
		return nil, fmt.Errorf("proto %s: the kernel's own routes are not a writer's to own; pick another protocol (the default is %d)", opts.Proto, DefaultProto)
	}
	switch opts.Nexthops {
	case "":
		opts.Nexthops = NexthopsAuto
	case NexthopsAuto, NexthopsOn, NexthopsOff:
	default:
		return nil, fmt.Errorf("nexthops %q: want auto, on or off", opts.Nexthops)
	}
	if opts.Settle == 0 {
		opts.Settle = 50 * time.Millisecond
	}
	if opts.NexthopIDBase == 0 {
		opts.NexthopIDBase = uint32(opts.Proto)<<24 + 1
	}
	w := &Writer{opts: opts}
	if opts.Profile != nil {
		w.prof = *opts.Profile
	} else {
		p, err := host.Profile()
		if err != nil {
			return nil, fmt.Errorf("route writer: the running kernel's profile: %w", err)
		}
		w.prof = p
	}
	c, err := rtnl.Dial(opts.Netns)
	if err != nil {
		return nil, fmt.Errorf("route writer%s: %w", plan.InNetns(opts.Netns), err)
	}
	w.c = c
	return w, nil
}

// Profile is the kernel profile the writer chooses strategies for.
func (w *Writer) Profile() profile.Profile { return w.prof }

// Close releases the writer's socket.
func (w *Writer) Close() error {
	w.takePrefetch()
	return w.c.Close()
}

// Prefetch starts reading the kernel's tables for the next Plan, in the
// background, so that a caller can read its desired routes meanwhile
// (raceroute apply reads its file while the kernel dumps 200,000
// routes). It reads the tables of Options (main and Options.Tables);
// the next Plan uses what it read when its routes name no other table,
// and reads again otherwise, or when the prefetch failed. hint is how
// many routes of the writer's the tables are expected to hold (0 if
// unknown), to size what holds them. Nothing else may be called on the
// writer until that Plan (or Close).
func (w *Writer) Prefetch(ctx context.Context, hint int) {
	w.takePrefetch()
	owned := w.owned(nil)
	w.pre = make(chan prefetched, 1)
	w.dumping.Store(true)
	go func() {
		st, err := state.Read(ctx, w.c, w.opts.Proto, owned, hint)
		w.dumping.Store(false)
		w.pre <- prefetched{st: st, err: err, owned: owned}
	}()
}

// takePrefetch waits for a prefetch under way and returns what it read.
func (w *Writer) takePrefetch() *prefetched {
	if w.pre == nil {
		return nil
	}
	r := <-w.pre
	w.pre = nil
	return &r
}

// owned are the tables of the writer, with those the routes name.
func (w *Writer) owned(desired []Route) map[uint32]bool {
	t := map[uint32]bool{unix.RT_TABLE_MAIN: true}
	for _, x := range w.opts.Tables {
		t[x] = true
	}
	for _, r := range desired {
		if r.Table != 0 {
			t[r.Table] = true
		}
	}
	return t
}

// Plan reads the kernel's tables and plans the changes that bring the
// writer's routes to desired. It writes nothing; a desired state with
// problems (an unknown device, a key held by another protocol's route, a
// malformed route) gives a *ValidationError listing every one.
func (w *Writer) Plan(ctx context.Context, desired []Route) (*Plan, error) {
	return w.plan(ctx, desired, w.owned(desired), w.opts.Prune)
}

func (w *Writer) plan(ctx context.Context, desired []Route, owned map[uint32]bool, prune bool) (*Plan, error) {
	// What needs no kernel state is checked while a prefetch may still
	// be reading it.
	prep := plan.PrepareWhile(desired, owned, w.dumping.Load)
	var st *state.State
	var err error
	if pre := w.takePrefetch(); pre != nil && pre.err == nil && maps.Equal(pre.owned, owned) {
		st = pre.st
	} else {
		st, err = state.Read(ctx, w.c, w.opts.Proto, owned, len(desired))
	}
	if err != nil {
		return nil, fmt.Errorf("route writer%s: read the tables: %w", plan.InNetns(w.opts.Netns), err)
	}
	return plan.ComputePrepared(st, prep, plan.Config{Proto: w.opts.Proto, Owned: owned, Prune: prune, Nexthops: w.opts.Nexthops,
		Profile: w.prof, IDBase: w.opts.NexthopIDBase, Netns: w.opts.Netns})
}

// Outcome is what became of a change.
type Outcome string

// Outcomes of a change.
const (
	Applied      Outcome = "applied"
	Failed       Outcome = "failed"
	NotAttempted Outcome = "not attempted"
	// PartlyApplied: the change's first write went in, a later one did
	// not (a make-before-break whose old route is still there too).
	PartlyApplied Outcome = "partly applied"
	// Unknown: a request was sent but its acknowledgement never came;
	// the read-back says what the kernel holds.
	Unknown Outcome = "unknown"
)

// ChangeResult is the outcome of one change, with the kernel's error.
type ChangeResult struct {
	Change  *Change
	Outcome Outcome
	Err     error
}

// Result is what an Apply did.
type Result struct {
	Plan    *Plan
	Changes []ChangeResult
	// NexthopWrites are the outcomes of the nexthop object writes, in
	// the order of Plan.NexthopWrites.
	NexthopWrites []ChangeResult
	// Requests is the number of requests sent, every one acknowledged
	// or accounted for.
	Requests int
	// Healed lists the route-cache entries deleted as contradicting
	// their routes.
	Healed []string
	// Verified: the tables read back hold what the outcomes say; Checked
	// says what was read back and checked: every key the plan touched,
	// or, when the plan's only writes were nexthop object replaces, those
	// objects and the routes that use them.
	Verified  bool
	Checked   string
	VerifyErr error
	// Aborted says why later writes were not sent ("" when none was
	// held back).
	Aborted string
	// Rollback is the result of restoring the previous state, when
	// RollbackOnError did.
	Rollback *Result
	Elapsed  time.Duration
}

// Err is nil when every change was applied and read back as planned.
func (r *Result) Err() error {
	var errs []error
	n := 0
	for _, c := range r.Changes {
		if c.Outcome != Applied {
			n++
		}
	}
	for _, c := range r.NexthopWrites {
		if c.Outcome != Applied {
			n++
		}
	}
	if n > 0 {
		errs = append(errs, fmt.Errorf("%d of %d changes not applied", n, len(r.Changes)+len(r.NexthopWrites)))
	}
	if r.Aborted != "" {
		errs = append(errs, errors.New(r.Aborted))
	}
	if r.VerifyErr != nil {
		errs = append(errs, r.VerifyErr)
	}
	return errors.Join(errs...)
}

// stepState is what became of one step.
type stepState struct {
	done   bool // sent and acknowledged (or found already gone)
	sent   bool
	err    error
	reason string // why not sent
}

// Apply writes a plan made by Plan: phase by phase, each phase's requests
// in batches, a request only when every request it depends on was
// acknowledged; then, on kernels that clone on lookup, heals the route
// cache under the changed IPv6 prefixes; then reads the tables back and
// checks them against what each change's outcome says. With
// RollbackOnError, a failed change or a failed check restores the state
// the plan started from. The error is for a failure to talk to the kernel
// at all; what each change did is in the Result (Result.Err sums it up).
func (w *Writer) Apply(ctx context.Context, p *Plan) (*Result, error) {
	w.takePrefetch() // not for this plan: the socket must be free
	start := time.Now()
	res, err := w.apply(ctx, p)
	if err != nil {
		return res, err
	}
	if w.opts.RollbackOnError && res.Err() != nil && !p.Empty() {
		back, err := w.plan(ctx, plan.Before(p), plan.Owned(p), true)
		if err != nil {
			res.Elapsed = time.Since(start)
			return res, fmt.Errorf("rollback: %w", err)
		}
		rb, err := w.apply(ctx, back)
		res.Rollback = rb
		if err != nil {
			res.Elapsed = time.Since(start)
			return res, fmt.Errorf("rollback: %w", err)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// outcomesMin is the fewest changes whose outcomes are made ahead
// (Writer.apply) and in chunks on every CPU (Writer.outcomes).
const outcomesMin = 32768

func (w *Writer) apply(ctx context.Context, p *Plan) (*Result, error) {
	res := &Result{Plan: p}
	// The outcomes of a large plan (40 bytes a change: 8 MB at 200,000)
	// are made, their pages mapped, while the kernel takes the writes: a
	// move's one nexthop replace holds this thread in the kernel for a
	// quarter of a second, the other CPU idle.
	results := make(chan []ChangeResult, 1)
	if n := len(p.Changes); n >= outcomesMin {
		go func() {
			cs := make([]ChangeResult, n)
			mem.Touch(cs, 0, n)
			results <- cs
		}()
	} else {
		results <- make([]ChangeResult, n)
	}
	steps := plan.Steps(p)
	ss := make([]stepState, len(steps))
	total := len(steps)
	answered := 0
	for phase := 0; phase < plan.NPhases && res.Aborted == ""; phase++ {
		var idx []int
		var reqs []rtnl.Request
		for i := range steps {
			s := &steps[i]
			if s.Phase != phase {
				continue
			}
			if bad := firstNotDone(ss, s.Deps); bad >= 0 {
				ss[i].reason = fmt.Sprintf("not sent: it needs `%s`, which %s", plan.StepText(p, bad), describeState(&ss[bad]))
				continue
			}
			idx = append(idx, i)
			reqs = append(reqs, s.Req)
		}
		if len(reqs) == 0 {
			continue
		}
		base := answered
		out, xerr := w.c.Exchange(ctx, reqs, w.opts.Batch, func(n int) {
			if w.opts.Progress != nil {
				w.opts.Progress(base+n, total)
			}
		})
		res.Requests += len(reqs)
		answered += len(reqs)
		eperm := false
		for k, i := range idx {
			st := &ss[i]
			e := out[k]
			st.sent = !errors.Is(e, rtnl.ErrNoAnswer)
			var ke *rtnl.KernelError
			switch {
			case e == nil:
				st.done = true
			case steps[i].GoneOK && errors.As(e, &ke) && (ke.Errno == unix.ESRCH || ke.Errno == unix.ENOENT):
				st.done = true // already gone: the replace before it removed the old route
			default:
				st.err = e
				if errors.As(e, &ke) && (ke.Errno == unix.EPERM || ke.Errno == unix.EACCES) {
					eperm = true
				}
			}
		}
		switch {
		case xerr != nil:
			res.Aborted = fmt.Sprintf("writes stopped: %v", xerr)
		case eperm:
			res.Aborted = "writes stopped: the kernel refused them with EPERM: changing routes needs CAP_NET_ADMIN in the namespace (run as root)"
		}
	}
	for i := range ss {
		if !ss[i].done && !ss[i].sent && ss[i].reason == "" && ss[i].err == nil {
			ss[i].reason = "not sent: " + res.Aborted
		}
	}
	w.outcomes(res, ss, <-results)
	if res.Aborted == "" {
		healed, err := w.heal(ctx, p, res)
		if err != nil {
			return res, err
		}
		res.Healed = healed
	}
	if err := w.verify(ctx, res); err != nil {
		return res, err
	}
	return res, nil
}

// firstNotDone returns the first of deps not done, or -1.
func firstNotDone(ss []stepState, deps []int) int {
	for _, d := range deps {
		if !ss[d].done {
			return d
		}
	}
	return -1
}

func describeState(s *stepState) string {
	switch {
	case s.err != nil && errors.Is(s.err, rtnl.ErrNoAnswer):
		return "got no acknowledgement"
	case s.err != nil:
		return "failed: " + s.err.Error()
	case s.reason != "":
		return "was " + s.reason
	}
	return "did not succeed"
}

// outcomes turns the steps' states into each change's outcome, into
// cs (one a change), in chunks on every CPU for a large plan.
func (w *Writer) outcomes(res *Result, ss []stepState, cs []ChangeResult) {
	p := res.Plan
	steps := plan.Steps(p)
	res.Changes = cs
	mem.Chunks(len(p.Changes), outcomesMin/2, func(lo, hi int) { changeOutcomes(p, steps, ss, cs, lo, hi) })
	for i := range steps {
		s := &steps[i]
		if s.Change >= 0 {
			continue
		}
		cr := ChangeResult{Outcome: Applied, Change: &Change{Why: s.What}}
		st := &ss[i]
		switch {
		case st.done:
		case st.err != nil && errors.Is(st.err, rtnl.ErrNoAnswer):
			cr.Outcome, cr.Err = Unknown, st.err
		case st.err != nil:
			cr.Outcome, cr.Err = Failed, st.err
		default:
			cr.Outcome, cr.Err = NotAttempted, errors.New(st.reason)
		}
		res.NexthopWrites = append(res.NexthopWrites, cr)
	}
}

// changeOutcomes makes the outcomes of changes lo to hi of p into cs.
func changeOutcomes(p *Plan, steps []plan.Step, ss []stepState, cs []ChangeResult, lo, hi int) {
	for i := lo; i < hi; i++ {
		ch := &p.Changes[i]
		chSteps := plan.ChangeSteps(ch)
		cr := ChangeResult{Change: ch, Outcome: Applied}
		done, unknown := 0, false
		for _, si := range chSteps {
			s := &ss[si]
			switch {
			case s.done:
				done++
			case errors.Is(s.err, rtnl.ErrNoAnswer) && s.sent:
				unknown = true
			case s.err != nil && cr.Err == nil:
				cr.Err = fmt.Errorf("%s: %w", plan.StepText(p, si), s.err)
			case s.reason != "" && cr.Err == nil:
				cr.Err = errors.New(s.reason)
			}
		}
		switch {
		case done == len(chSteps):
		case unknown:
			cr.Outcome = Unknown
		case done > 0 && steps[chSteps[0]].Change == i && ss[chSteps[0]].done:
			cr.Outcome = PartlyApplied
		case firstFailed(ss, chSteps):
			cr.Outcome = Failed
		default:
			cr.Outcome = NotAttempted
		}
		cs[i] = cr
	}
}

func firstFailed(ss []stepState, steps []int) bool {
	for _, si := range steps {
		if ss[si].err != nil {
			return true
		}
	}
	return false
}

// heal deletes, on kernels whose lookups clone on lookup, the
// route-cache entries under the prefixes the applied IPv6 changes touched
// that contradict the route covering them, after letting lookups in
// flight finish (Options.Settle), twice.
func (w *Writer) heal(ctx context.Context, p *Plan, res *Result) ([]string, error) {
	var prefixes []Route
	for _, cr := range res.Changes {
		if cr.Change.Heal && cr.Outcome != NotAttempted {
			if cr.Change.To != nil {
				prefixes = append(prefixes, *cr.Change.To)
			} else {
				prefixes = append(prefixes, *cr.Change.From)
			}
		}
	}
	if len(prefixes) == 0 {
		return nil, nil
	}
	var healed []string
	for pass := 0; pass < 2; pass++ {
		select {
		case <-ctx.Done():
			return healed, ctx.Err()
		case <-time.After(w.opts.Settle):
		}
		st, err := state.Read(ctx, w.c, w.opts.Proto, plan.Owned(p), 0)
		if err != nil {
			return healed, fmt.Errorf("heal the route cache: %w", err)
		}
		stale := st.StaleClones(prefixes)
		if len(stale) == 0 {
			break
		}
		reqs := make([]rtnl.Request, len(stale))
		for i := range stale {
			c := stale[i]
			c.Flags = unix.RTM_F_CLONED // rtm_to_fib6_config(): RTF_CACHE, the clone alone
			b, err := rtnl.AppendRoute(nil, &c)
			if err != nil {
				return healed, fmt.Errorf("heal the route cache: %w", err)
			}
			reqs[i] = rtnl.Request{Type: unix.RTM_DELROUTE, Body: b}
		}
		out, err := w.c.Exchange(ctx, reqs, w.opts.Batch, nil)
		res.Requests += len(reqs)
		for i, e := range out {
			if e == nil {
				healed = append(healed, fmt.Sprintf("%s via %s (cache)", stale[i].Dst, stale[i].Gateway))
			}
		}
		if err != nil {
			return healed, fmt.Errorf("heal the route cache: %w", err)
		}
	}
	return healed, nil
}

// verify reads the tables back and checks each key against what the
// outcomes say it holds.
func (w *Writer) verify(ctx context.Context, res *Result) error {
	p := res.Plan
	if replaced := plan.Replaced(p); replaced != nil && res.Aborted == "" && allApplied(res) {
		return w.verifyReplaced(ctx, res, replaced)
	}
	st, err := state.Read(ctx, w.c, w.opts.Proto, plan.Owned(p), len(plan.Expect(p)))
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	expect := plan.Expect(p)
	var bad []string
	check := func(k Key, want *Route, nhid uint32, maybe bool) {
		in, inNHID := st.Held(k)
		switch {
		case want == nil && in != nil:
			bad = append(bad, fmt.Sprintf("%s is still there", in))
		case want == nil:
		case in == nil:
			bad = append(bad, fmt.Sprintf("%s is missing", want))
		case !want.HeldBy(in) || (nhid != 0 && inNHID != nhid) || (nhid == 0 && inNHID != 0 && !maybe):
			got := in.String()
			if inNHID != 0 {
				got += fmt.Sprintf(" (nexthop object %d)", inNHID)
			}
			wanted := want.String()
			if nhid != 0 {
				wanted += fmt.Sprintf(" (nexthop object %d)", nhid)
			}
			bad = append(bad, fmt.Sprintf("%s reads back as %s", wanted, got))
		}
	}
	for _, e := range expect {
		if e.Change < 0 {
			check(e.Key.Route(), e.Route, e.NHID, false)
		}
	}
	for i := range res.Changes {
		cr := &res.Changes[i]
		ch := cr.Change
		switch cr.Outcome {
		case Unknown:
			// No acknowledgement: the tables say what happened.
			var in, old *Route
			if ch.To != nil {
				in, _ = st.Held(ch.To.Key())
			} else {
				old, _ = st.Held(ch.From.Key())
			}
			switch {
			case ch.To != nil && in != nil && ch.To.HeldBy(in):
				cr.Outcome = Applied
				cr.Err = nil
			case ch.To == nil && old == nil:
				cr.Outcome = Applied
				cr.Err = nil
			default:
				cr.Outcome = Failed
				cr.Err = fmt.Errorf("no acknowledgement came, and the tables read back do not hold the change: %w", cr.Err)
			}
		case Applied:
			if ch.To != nil {
				check(ch.To.Key(), ch.To, nhidAt(p, ch.To.Key()), false)
			}
			if ch.From != nil && (ch.To == nil || ch.From.Key() != ch.To.Key()) {
				check(ch.From.Key(), nil, 0, false)
			}
		case PartlyApplied:
			if ch.To != nil {
				check(ch.To.Key(), ch.To, nhidAt(p, ch.To.Key()), false)
			}
		case Failed, NotAttempted:
			if ch.From != nil {
				check(ch.From.Key(), ch.From, 0, true)
			}
			if ch.To != nil && (ch.From == nil || ch.From.Key() != ch.To.Key()) {
				check(ch.To.Key(), nil, 0, false)
			}
		}
	}
	if len(bad) == 0 {
		res.Verified, res.Checked = true, checkedAll
		return nil
	}
	slices.Sort(bad)
	n, more := len(bad), ""
	if n > 20 {
		more = fmt.Sprintf("\n  ... and %d more", n-20)
		bad = bad[:20]
	}
	res.VerifyErr = fmt.Errorf("read back: %d route(s) not as the outcomes say:\n  %s%s", n, strings.Join(bad, "\n  "), more)
	return nil
}

// nhidAt is the nexthop object p expects the route at k to use.
func nhidAt(p *Plan, k Key) uint32 {
	e, _ := plan.ExpectAt(p, k)
	return e.NHID
}

// allApplied reports whether every change and nexthop write of res was
// acknowledged.
func allApplied(res *Result) bool {
	for _, c := range res.Changes {
		if c.Outcome != Applied {
			return false
		}
	}
	for _, c := range res.NexthopWrites {
		if c.Outcome != Applied {
			return false
		}
	}
	return true
}

// IsPermission reports whether err is the kernel's refusal for want of
// privilege (EPERM, EACCES).
func IsPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES)
}
