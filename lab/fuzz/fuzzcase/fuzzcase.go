// Package fuzzcase holds what lab/fuzz and its categories (arpcase,
// routecase) share: the Case a category generates, and the namespaces a
// live run makes.
package fuzzcase

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/netns"
	"raceroute/profile"
)

// Case is one generated case of a category.
type Case interface {
	// Len is the number of steps the case has (what shrinking removes).
	Len() int
	// Drop returns the case without step i, or nil when the case cannot
	// lose it.
	Drop(i int) Case
	// Run runs the case live in namespaces named after name and in the
	// model of p, and returns what differed (nothing: they agree).
	Run(ctx context.Context, name string, p *profile.Profile) ([]string, error)
	// Reproducer renders the case in scenario syntax, with diffs (the
	// differences of its last run) as comments.
	Reproducer(p *profile.Profile, diffs []string) string
}

// Generator draws a case of one category; redrawn counts the drafts it
// threw away.
type Generator func(rng *rand.Rand, p *profile.Profile) (c Case, redrawn int, err error)

// ErrLate marks a live run that missed its schedule by more than the
// margin: it says nothing about the model and is run again.
var ErrLate = errors.New("the live run fell behind its schedule by more than the margin")

// NewNamespace creates namespace name, removing first a leftover of an
// earlier run with the same pid; on error nothing is left behind.
func NewNamespace(name string) (*netns.NS, error) {
	_ = netns.Delete(name)
	return netns.Create(name)
}

// CloseNamespace closes ns and removes its name.
func CloseNamespace(ns *netns.NS) error {
	return errors.Join(ns.Close(), netns.Delete(ns.Name))
}

// Pick returns one of xs at random.
func Pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// DialRoute opens an rtnetlink socket in ns with strict checking and
// extended ACKs.
func DialRoute(ns *netns.NS) (*netlink.Conn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: ns.FD(), Strict: true})
	if err != nil {
		return nil, fmt.Errorf("netns %s: rtnetlink: %w", ns.Name, err)
	}
	if err := c.SetOption(netlink.ExtendedAcknowledge, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("netns %s: NETLINK_EXT_ACK: %w", ns.Name, err)
	}
	return c, nil
}
