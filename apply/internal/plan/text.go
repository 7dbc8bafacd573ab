package plan

import (
	"fmt"
	"io"
	"strings"
)

// WriteText prints the plan: the kernel and nexthop decision, the
// nexthop object writes, then every change with its strategy; changes
// with the same strategy and reason share one explanation.
func (p *Plan) WriteText(w io.Writer) {
	where := ""
	if p.Netns != "" {
		where = " in netns " + p.Netns
	}
	kernel := p.ProfileName
	if p.Profile != p.ProfileName {
		kernel += " (" + p.Profile + ")"
	}
	fmt.Fprintf(w, "plan%s: %d change(s), %d route(s) already as desired; kernel profile %s\n", where, len(p.Changes), p.Unchanged, kernel)
	if p.Nexthops {
		fmt.Fprintf(w, "nexthop objects: used: %s\n", p.NexthopsWhy)
	} else {
		fmt.Fprintf(w, "nexthop objects: not used: %s\n", p.NexthopsWhy)
	}
	for _, s := range p.NexthopWrites {
		fmt.Fprintf(w, "  %s\n", s)
	}
	for _, g := range groups(p.Changes) {
		c := &p.Changes[g[0]]
		head := string(c.Strategy)
		if c.Heal {
			head += " + heal"
		}
		fmt.Fprintf(w, "%s (%d): %s\n", head, len(g), c.Why)
		for _, e := range c.Evidence {
			fmt.Fprintf(w, "  shown by: raceroute check %s --kernel %s\n", e, p.Profile)
		}
		for _, i := range g {
			ch := &p.Changes[i]
			line := "  " + ch.String()
			if ch.Nexthop != "" {
				line += "  [" + ch.Nexthop + "]"
			}
			fmt.Fprintln(w, line)
		}
	}
}

// groups lists the changes by (strategy, heal, reason, evidence), in
// the order each group first appears.
func groups(cs []Change) [][]int {
	var order []string
	by := map[string][]int{}
	for i := range cs {
		c := &cs[i]
		k := fmt.Sprintf("%s|%v|%s|%s", c.Strategy, c.Heal, c.Why, strings.Join(c.Evidence, ","))
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], i)
	}
	out := make([][]int, len(order))
	for i, k := range order {
		out[i] = by[k]
	}
	return out
}
