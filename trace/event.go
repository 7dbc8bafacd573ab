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
type Event struct {
	T      int64  `json:"t_ms"`
	Host   string `json:"host,omitempty"`
	Actor  string `json:"actor"`
	Label  Label  `json:"label"`
	Op     Op     `json:"-"`
	Text   string `json:"text"`
	Reason string `json:"reason,omitempty"`
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
