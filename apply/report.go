package apply

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints what an Apply did: on success one line; otherwise
// every change not applied with the kernel's answer, the applied ones
// (all of them, or the first `applied` and a count: every change not
// listed as not applied was), the read-back, and the rollback.
func (r *Result) WriteText(w io.Writer, applied int) {
	nOK := 0
	for _, c := range r.NexthopWrites {
		if c.Outcome == Applied {
			nOK++
		}
	}
	for _, c := range r.Changes {
		if c.Outcome == Applied {
			nOK++
		}
	}
	nNotOK := len(r.NexthopWrites) + len(r.Changes) - nOK
	// The lists, only when some change is not applied (a success of
	// 200,000 changes prints one line).
	var ok, notOK []ChangeResult
	if nNotOK > 0 || r.Aborted != "" {
		for _, cs := range [][]ChangeResult{r.NexthopWrites, r.Changes} {
			for _, c := range cs {
				if c.Outcome == Applied {
					ok = append(ok, c)
				} else {
					notOK = append(notOK, c)
				}
			}
		}
	}
	line := func(c ChangeResult) string {
		if c.Change.From == nil && c.Change.To == nil {
			return c.Change.Why // a nexthop object write
		}
		return c.Change.String()
	}
	switch {
	case nNotOK == 0 && r.Aborted == "" && nOK == 0:
		fmt.Fprintf(w, "nothing to change: the %d desired route(s) are as desired", r.Plan.Unchanged)
	case nNotOK == 0 && r.Aborted == "":
		fmt.Fprintf(w, "applied %d change(s) and %d nexthop object write(s) with %d request(s), every one acknowledged, in %.3f s",
			len(r.Changes), len(r.NexthopWrites), r.Requests, r.Elapsed.Seconds())
	default:
		fmt.Fprintf(w, "%d of %d change(s) not applied", len(notOK), len(notOK)+len(ok))
		if r.Aborted != "" {
			fmt.Fprintf(w, "; %s", r.Aborted)
		}
		fmt.Fprintln(w, ":")
		for _, c := range notOK {
			msg := ""
			if c.Err != nil {
				msg = ": " + c.Err.Error()
			}
			fmt.Fprintf(w, "  %s: %s%s\n", c.Outcome, line(c), msg)
		}
		fmt.Fprintf(w, "applied (%d)", len(ok))
		if len(ok) > 0 {
			fmt.Fprintln(w, ":")
		}
		for i, c := range ok {
			if applied >= 0 && i == applied {
				fmt.Fprintf(w, "  ... and %d more: every change not listed above as not applied\n", len(ok)-applied)
				break
			}
			fmt.Fprintf(w, "  %s\n", line(c))
		}
	}
	if len(r.Healed) > 0 {
		fmt.Fprintf(w, "\nhealed the route cache: deleted %s", strings.Join(r.Healed, ", "))
	}
	switch {
	case r.Verified:
		fmt.Fprintf(w, "\nread back: %s\n", r.Checked)
	case r.VerifyErr != nil:
		fmt.Fprintf(w, "\n%v\n", r.VerifyErr)
	default:
		fmt.Fprintln(w)
	}
	if r.Rollback != nil {
		fmt.Fprint(w, "rollback (restoring the routes as they were before): ")
		r.Rollback.WriteText(w, applied)
	}
}
