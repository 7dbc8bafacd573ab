// Package fib6 is an executable model of the Linux IPv6 routing table
// (net/ipv6/ip6_fib.c, net/ipv6/route.c) at the versions of
// model/profile: the prefix tree with per-node route lists ordered by
// metric, route-cache clones inserted by lookups before 4.2, clone
// pruning by the kernel's walker, delete, add and the three replace
// semantics. It is pure: state in, events and state out.
//
// Each kernel step (kernel.go) decides first and returns a small value
// saying what it decided and why; story.go turns that value into story
// lines, only when a story is recorded. The routes it holds, and their
// `ip -6 route` text, are package route's.
package fib6

import "raceroute/model/fib6/route"

// Route is a route as a user writes it (`ip -6 route` syntax).
type Route = route.Route

// Type is a route type (rtm_type).
type Type = route.Type

// Route types the model knows, MainTable (RT_TABLE_MAIN) and
// DefaultMetric (IP6_RT_PRIO_USER).
const (
	Unicast       = route.Unicast
	Blackhole     = route.Blackhole
	Unreachable   = route.Unreachable
	Prohibit      = route.Prohibit
	Throw         = route.Throw
	MainTable     = route.MainTable
	DefaultMetric = route.DefaultMetric
)

// ParseRoute parses one route in `ip -6 route` syntax (route.Parse).
func ParseRoute(line string) (Route, error) { return route.Parse(line) }

// ParseType parses an iproute2 route type keyword.
func ParseType(s string) (Type, bool) { return route.ParseType(s) }
