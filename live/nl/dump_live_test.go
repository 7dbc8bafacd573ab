package nl_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
)

// TestDumpRetriesInterrupted dumps the links of a namespace with
// hundreds of them while links come and go: the kernel marks some dumps
// interrupted (NLM_F_DUMP_INTR, set by nl_dump_check_consistent when
// dev_base_seq moved), and the dump must retry them and still succeed.
func TestDumpRetriesInterrupted(t *testing.T) {
	a, _ := nstest.Pair(t, "nl")
	for i := range 150 {
		if err := a.Veth(fmt.Sprintf("m%d", i), a, fmt.Sprintf("n%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	churnCtx, stopChurn := context.WithCancel(ctx)
	churned := make(chan error, 1)
	go func() {
		for i := 0; churnCtx.Err() == nil; i++ {
			if err := a.Veth("churn0", a, "churn1"); err != nil {
				churned <- err
				return
			}
			if err := a.LinkDel("churn0"); err != nil {
				churned <- err
				return
			}
		}
		churned <- nil
	}()
	var retries []string
	opts := nl.Options{Netns: a.Name, OnDumpRetry: func(what string) { retries = append(retries, what) }}
	for i := 0; i < 200 && len(retries) == 0; i++ {
		v, err := nl.DumpView(ctx, opts)
		if err != nil {
			t.Fatalf("dump %d: %v", i, err)
		}
		if v.Len() < 300 {
			t.Fatalf("dump %d holds %d objects, want the 300 veth ends at least", i, v.Len())
		}
	}
	stopChurn()
	if err := <-churned; err != nil {
		t.Fatal(err)
	}
	if len(retries) == 0 {
		t.Fatal("no dump was interrupted in 200 tries while links churned: retrying is untested")
	}
	t.Logf("retried: %v", retries)
}
