package trace

// Label names the kind of object a story line is about, in the style of
// the seed's patched `ip monitor` output.
type Label string

// Labels used in stories.
const (
	LabelRoute  Label = "ROUTE"  // a route in a FIB table
	LabelCache  Label = "RTCAH"  // a route-cache clone (RTF_CACHE)
	LabelLookup Label = "LOOKUP" // a route lookup step (no netlink message)
	LabelNeigh  Label = "NEIGH"  // a neighbour entry
	LabelARP    Label = "ARP"    // an ARP frame on the wire or at arp_process()
	LabelNA     Label = "NA"     // an IPv6 neighbour advertisement
	LabelNDisc  Label = "NDISC"  // an NS or NA at ndisc_rcv() or ndisc_solicit() (model stories)
	LabelTCP    Label = "TCP"    // a TCP segment and its upper-layer confirmation
	LabelPacket Label = "PKT"    // a packet sent by a flow
	LabelTimer  Label = "TIMER"  // a kernel timer firing
	LabelNote   Label = "NOTE"   // anything else worth saying
)

// Op is what happened to the object: added, deleted, replaced or none.
type Op byte

// Ops. OpNone prints as a space.
const (
	OpNone    Op = ' '
	OpAdd     Op = '+'
	OpDel     Op = '-'
	OpReplace Op = '='
)

// Event is one line of a model's story: at time T (milliseconds since the
// start of the scenario) the actor Actor on host Host did something to an
// object, rendered in iproute2 syntax in Text; Reason says why the kernel
// decided what it did ("ignored: within locktime, updated 0.40 s ago").
//
// The fields after Reason give the story the structure a timeline draws
// (one lane per actor and per kernel object, windows as spans, each
// object's state along its lane). They are optional, and the text and
// JSON stories never print them.
type Event struct {
	T      int64  `json:"t_ms"`
	Host   string `json:"host,omitempty"`
	Actor  string `json:"actor"`
	Label  Label  `json:"label"`
	Op     Op     `json:"-"`
	Text   string `json:"text"`
	Reason string `json:"reason,omitempty"`

	// Object names the kernel object the event reads or changes, one
	// lane per name: a FIB node ("2001:db8:0:10::/80"), a route-cache
	// clone's /128 node, a neighbour entry ("tempest 172.24.4.10 dev
	// eth2"). Empty when the event touches none (a frame on the wire).
	Object string `json:"-"`
	// State is Object's state once the event happened, empty when the
	// event does not tell it: the routes at a FIB node ("no route" when
	// it is empty), a neighbour entry's NUD state and lladdr. A timeline
	// draws a change where it differs from the state before.
	State string `json:"-"`
	// Related names a second object the event concerns: the route a new
	// clone shadows, the node a lookup's match came from.
	Related string `json:"-"`
	// Window opens, closes or states a span of time the timeline draws.
	Window Window `json:"-"`
	// Outcome marks a decision against the change an actor asked for, or
	// a packet that the failure cost.
	Outcome Outcome `json:"-"`
}

// WindowEdge says what an event does to a window.
type WindowEdge uint8

// Window edges.
const (
	WindowNone WindowEdge = iota
	// WindowOpen opens window Name on the event's actor lane: the actor
	// holds no lock from here (a lookup that released the read lock
	// after its match).
	WindowOpen
	// WindowClose closes the actor's open window Name (the write-locked
	// insert that ends the lookup).
	WindowClose
	// WindowSpan states that Object's window Name is [Start, Start+Len]
	// once the event happened (a neighbour entry's locktime, which starts
	// at its `updated` stamp). A later span of the same name on the same
	// object with another Start ends this one there: a moving window.
	WindowSpan
)

// Window is a span of time on a lane. Start and Len are milliseconds,
// for WindowSpan only.
type Window struct {
	Edge       WindowEdge
	Name       string
	Start, Len int64
}

// Outcome marks events a reader of a story should not miss.
type Outcome uint8

// Outcomes.
const (
	OutcomeNone Outcome = iota
	// OutcomeIgnored: the kernel decided against the change asked for (an
	// ARP update ignored within locktime, a route change refused).
	OutcomeIgnored
	// OutcomeLost: a packet went to the wrong place or was dropped.
	OutcomeLost
)

// String names the outcome ("" for none).
func (o Outcome) String() string {
	switch o {
	case OutcomeIgnored:
		return "ignored"
	case OutcomeLost:
		return "lost"
	}
	return ""
}

// Recorder receives the story events of a run. Models call it only when
// a story is wanted, so that exploration pays nothing for it.
type Recorder interface {
	Record(Event)
}

// Story is a Recorder that keeps every event in order.
type Story struct {
	Events []Event
}

// Record appends e to the story.
func (s *Story) Record(e Event) { s.Events = append(s.Events, e) }
