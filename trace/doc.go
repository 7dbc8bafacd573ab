// Package trace holds the event records that every part of raceroute
// speaks: the story events a model emits at each kernel decision
// (Event), and the structured route, neighbour, link, address and frame
// records that the live subscription produces and the detectors consume
// (Record). Renderers and parsers for these live beside them.
package trace
