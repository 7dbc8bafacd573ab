// Package timeline draws raceroute's stories as one self-contained HTML
// page: inline SVG, CSS and a little JavaScript, nothing fetched from the
// network.
//
// A story (a model's counterexample, a replayed check, a recorded trace)
// is drawn with one lane per actor (a routing daemon, a packet flow, an
// ARP sender, a kernel timer) and one per kernel object (a FIB node, a
// route-cache clone, a neighbour entry, a shared dst). Each event sits at
// its time, or at its step in untimed stories; an event about an object
// is drawn on both lanes, joined by a line. The events' drawing fields
// (trace.Event's Object, State, Related, Window and Outcome, which the
// models set) give the rest: each object's state along its lane,
// lock-free and locktime windows as spans, the route a clone shadows as an
// arrow, ignored decisions and lost packets marked. The kernel's reason
// for each decision is on hover and in a side list beside the lanes.
//
// A Page holds reports (one per scenario and kernel, grouped by scenario,
// each with its properties' verdicts and stories, the kernel profile and
// the replay token), the failure rate of sampled runs per profile with its
// 95 % interval as a small chart, and optionally the library's matrix,
// each cell linking to its report. Layout is computed here (lanes, x
// positions at zoom 1, windows, state bands); the page's script only
// scales and draws it, zooms (keyboard + - 0 and Ctrl+wheel) and shows
// reasons.
package timeline
