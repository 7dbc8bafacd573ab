package apply

import (
	"raceroute/apply/internal/plan"
	"raceroute/apply/internal/strategy"
	"raceroute/apply/route"
)

// The writer's values, defined in the packages that hold each concern
// and named here as they always were: the routes in apply/route, the
// plan and its validation in apply/internal/plan, the strategies in
// apply/internal/strategy.

// Route is a route the writer is asked to hold, or one it read back
// (route.Route: its zero values, validation and text are documented
// there).
type Route = route.Route

// Nexthop is one next hop of a Route: a gateway, a device, or both.
type Nexthop = route.Nexthop

// Key is what the kernel's replace finds a route by: family, table,
// destination and metric.
type Key = route.Key

// Plan is what the writer will do to bring its routes to the desired
// state: every change with its strategy, the nexthop objects written,
// and what the kernel will hold afterwards. Writer.Plan makes one;
// Plan.WriteText prints it.
type Plan = plan.Plan

// Change is one route change of a plan: what changes, how (the
// strategy) and why, and the library scenarios that show the strategy
// safe on the kernel.
type Change = plan.Change

// ChangeKind is what a change does to a route.
type ChangeKind = plan.ChangeKind

// Change kinds.
const (
	KindAdd    = plan.KindAdd    // a route at a key none of ours holds
	KindModify = plan.KindModify // the route at its key changes
	KindMove   = plan.KindMove   // a route of ours changes metric (its key)
	KindDelete = plan.KindDelete // a route of ours goes (--prune)
)

// Problem is one thing wrong with a desired route.
type Problem = plan.Problem

// ValidationError lists every problem of a desired state; nothing was
// written.
type ValidationError = plan.ValidationError

// NexthopMode says whether the writer uses nexthop objects.
type NexthopMode = plan.NexthopMode

// Nexthop modes.
const (
	// NexthopsAuto uses nexthop objects where the kernel has them.
	NexthopsAuto = plan.NexthopsAuto
	// NexthopsOn requires them (an error on a kernel before 5.3).
	NexthopsOn = plan.NexthopsOn
	// NexthopsOff writes every route with its own next hops.
	NexthopsOff = plan.NexthopsOff
)

// Strategy is how a change is written; each Change names the one it
// uses and why.
type Strategy = strategy.Strategy

// The writer's strategies (their meaning is documented in
// apply/internal/strategy and in the package comment).
const (
	// Add writes a route at a key no route holds (NLM_F_CREATE|NLM_F_EXCL).
	Add = strategy.Add
	// Replace writes the route over the one at its key in one message.
	Replace = strategy.Replace
	// ReplaceDeleteOld is make before break where IPv6 replace adds
	// instead: replace, then delete the old route by its exact next hop.
	ReplaceDeleteOld = strategy.ReplaceDeleteOld
	// AddDelete changes a route's metric: add at the new key, then
	// delete the old route.
	AddDelete = strategy.AddDelete
	// NexthopReplace replaces the nexthop object the routes use, which
	// moves every route using it at once.
	NexthopReplace = strategy.NexthopReplace
	// Delete removes a route of ours (--prune).
	Delete = strategy.Delete
)
