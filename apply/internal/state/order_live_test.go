package state

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"raceroute/apply/internal/rtnl"
	"raceroute/live/netns/nstest"
)

// The kernel dumps the routes of each family in the Index's order
// (compareKeys), so that Read files them without a sort: prefixes inside
// others and beside them, of both families, several metrics at one
// prefix and two tables, written in a shuffled order.
func TestDumpIsInIndexOrder(t *testing.T) {
	ip := nstest.RequireBinary(t, "ip")
	ns := nstest.New(t, "order")
	var lines []string
	for _, table := range []string{"main", "100"} {
		for _, p := range []string{"10.1.0.0/16", "10.1.0.0/24", "10.1.0.0/32", "10.1.0.1/32", "10.1.5.0/24", "10.0.0.0/8", "10.2.0.0/16", "0.0.0.0/0",
			"fd00::/48", "fd00::/64", "fd00:0:0:1::/64", "fd00:0:0:1::/96", "fd00:0:0:2::/64", "fd01::/64", "fd00::1/128", "::/0"} {
			for _, metric := range []int{0, 7, 30} {
				lines = append(lines, fmt.Sprintf("route add blackhole %s table %s metric %d proto 250", p, table, metric))
			}
		}
	}
	rand.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	cmd := exec.Command(ip, "-n", ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch: %v\n%s", err, out)
	}
	c, err := rtnl.Dial(ns.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := Read(context.Background(), c, 250, map[uint32]bool{254: true, 100: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ours.Len() != len(lines) {
		t.Fatalf("%d routes of ours read, %d written", st.Ours.Len(), len(lines))
	}
	if st.Ours.resorted {
		var order []string
		for in := range st.Ours.All() {
			order = append(order, in.Key().String())
		}
		t.Errorf("the dump was not in the Index's order: Read sorted it (sorted: %s)", strings.Join(order, "; "))
	}
}
