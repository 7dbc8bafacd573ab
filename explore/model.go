// Package explore is raceroute's engine: it runs the actors of a model
// against each other under the orderings and timings their steps allow,
// checks properties, and returns a verdict with the shortest story it
// could find.
//
// A model's state is a value (cloneable by assignment, with a canonical
// byte encoding). Each actor has at most one pending step, atomic at the
// kernel's lock granularity, with a time window [Earliest, Latest] and a
// footprint. A step is enabled when its earliest firing time is no later
// than the smallest Latest of all pending steps; firing it moves the clock
// to a time inside that range. Untimed steps have the window [0, Never].
package explore

import (
	"math"

	"raceroute/trace"
)

// Time is a point in simulated time, in milliseconds (the kernel's
// jiffies, with HZ=1000).
type Time = int64

// Never is the Latest of a step with no deadline.
const Never Time = math.MaxInt64

// Footprint is the set of kernel objects a step reads and writes, as bits
// chosen by the model (a route-table node, a neighbour entry). Two steps
// whose footprints do not conflict commute.
type Footprint struct {
	Read, Write uint64
}

// Conflicts reports whether one footprint writes what the other touches.
func (f Footprint) Conflicts(g Footprint) bool {
	return f.Write&(g.Read|g.Write) != 0 || g.Write&(f.Read|f.Write) != 0
}

// Step is the next step of one actor.
type Step struct {
	Actor int
	// Earliest and Latest bound the firing time. Untimed steps use 0 and
	// Never.
	Earliest, Latest Time
	// Outcomes is the number of alternative results the step can have
	// (a random draw the kernel makes); 0 or 1 means one.
	Outcomes int
	// Footprint is what the step reads and writes.
	Footprint Footprint
}

// Model is an executable model over state S. Implementations must be pure:
// the same state, step, time and outcome give the same successor and the
// same events.
type Model[S any] interface {
	// Init returns the initial state.
	Init() S
	// Actors names the actors, indexed by Step.Actor.
	Actors() []string
	// Clock returns the time of state s.
	Clock(s *S) Time
	// Pending appends to buf the next step of every actor that has one and
	// returns it. Steps must come in increasing Actor order.
	Pending(s *S, buf []Step) []Step
	// Fire executes st at time at (within the step's window) with outcome
	// (0 <= outcome < max(1, st.Outcomes)), updates the clock to at, and
	// tells rec what happened when rec is not nil.
	Fire(s *S, st Step, at Time, outcome int, rec trace.Recorder)
	// Encode appends the canonical encoding of s to buf: equal states, and
	// only those, have equal encodings.
	Encode(s *S, buf []byte) []byte
}

// Kind is when a property is checked.
type Kind uint8

// Property kinds.
const (
	// Invariant properties are checked at every state.
	Invariant Kind = iota + 1
	// Final properties are checked once no step is enabled: every actor is
	// done and the system is quiescent, or the horizon is reached.
	Final
)

func (k Kind) String() string {
	switch k {
	case Invariant:
		return "invariant"
	case Final:
		return "final"
	}
	return "unknown"
}

// Property is a named check over states.
type Property[S any] struct {
	Name string
	Kind Kind
	// Holds is the fast check, called at every state of its kind.
	Holds func(s *S) bool
	// Explain says, in a network engineer's words, why Holds is false for
	// s (or what holds, when it is true). Called only for stories.
	Explain func(s *S) string
	// Reads is the footprint bits an invariant reads (Footprint's bits):
	// a step that writes none of them cannot change its verdict, which
	// lets persistent sets leave other actors out (the visibility
	// condition). Zero means unknown: every step is visible, and
	// persistent sets are off while the invariant is checked.
	Reads uint64
}

// Choice is one decision of the scheduler: which actor's step fired, at
// what time, with which outcome. A run is a pure function of its choices.
type Choice struct {
	Actor   int
	At      Time
	Outcome int
}
