package neigh

import "testing"

// The managed work's schedule: phase + k*Interval, the run at the
// state's Now once it has happened, the next after it.
func TestManagedSchedule(t *testing.T) {
	m := &Model{cfg: &Config{Managed: &ManagedWork{Interval: 5000, Phase: Window{0, 4999}}}}
	for _, c := range []struct {
		name  string
		phase int32
		ran   bool
		now   int32
		want  int32
	}{
		{name: "before the first run", phase: 1200, now: 0, want: 1200},
		{name: "at the first run, not yet run", phase: 1200, now: 1200, want: 1200},
		{name: "at the first run, run", phase: 1200, ran: true, now: 1200, want: 6200},
		{name: "between runs", phase: 1200, now: 7000, want: 11200},
		{name: "at a later run, not yet run", phase: 1200, now: 11200, want: 11200},
		{name: "at a later run, run", phase: 1200, ran: true, now: 11200, want: 16200},
		{name: "phase 0", phase: 0, ran: true, now: 0, want: 5000},
	} {
		s := State{Now: c.now, Managed: sched(c.phase, c.ran)}
		if got := m.nextManaged(&s); got != c.want {
			t.Errorf("%s: next %d, want %d", c.name, got, c.want)
		}
		if s.Managed.phase() != c.phase || s.Managed.ran() != c.ran || !s.Managed.placed() {
			t.Errorf("%s: sched round trip: phase %d ran %v", c.name, s.Managed.phase(), s.Managed.ran())
		}
		if s.Managed.later().ran() {
			t.Errorf("%s: later() kept ran", c.name)
		}
	}
	if (managedSched(0)).placed() {
		t.Error("the zero schedule is placed")
	}
}
