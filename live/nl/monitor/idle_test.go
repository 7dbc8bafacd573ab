package monitor

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"raceroute/live/nl"
	"raceroute/live/nl/internal/nlfake"
	"raceroute/trace"
)

// TestIdleAfterBurst: with a Handler, Idle is called once every record
// of what was received so far has been handled (where a buffering
// handler flushes), and never between two records of a burst that was
// already queued.
func TestIdleAfterBurst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	va := nlfake.Link(2, "va", true)
	k := nlfake.New(va)
	var mu sync.Mutex
	var log []string // "r" per record, "idle" per Idle
	idle := make(chan struct{}, 100)
	opts := Options{
		Handler: func(trace.Record) { mu.Lock(); log = append(log, "r"); mu.Unlock() },
		Idle: func() {
			mu.Lock()
			log = append(log, "idle")
			mu.Unlock()
			idle <- struct{}{}
		},
	}
	var burst []trace.Record
	for _, d := range []string{"10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24", "10.4.0.0/24"} {
		burst = append(burst, nlfake.Route(d, "10.9.0.2", 2, "va"))
	}
	k.Announce(burst...) // queued before the subscription reads
	s := newSubscription(opts, k.Socket(), nl.NewDumper(k.Conn(), opts.Options), func() {})
	if err := s.start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Wait until every record was handled and an Idle followed.
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case <-idle:
		case <-deadline:
			mu.Lock()
			t.Fatalf("after 15 s: %v", log)
		}
		mu.Lock()
		n := 0
		for _, e := range log {
			if e == "r" {
				n++
			}
		}
		done = n == len(burst) && log[len(log)-1] == "idle"
		mu.Unlock()
	}
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	// The burst was queued before the subscription read: one Idle, after
	// all of it.
	if first := slices.Index(log, "idle"); first != len(burst) {
		t.Fatalf("Idle within the burst: %v", log)
	}
}
