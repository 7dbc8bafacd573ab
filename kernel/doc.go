// Package kernel holds the values of the Linux kernel's networking code
// that raceroute's models, traces, detectors and live code all speak: NUD
// states, route types, route protocols, errnos and link-layer (MAC)
// addresses. Each is one named, comparable type with a String() in the
// form iproute2 prints it, so that a value can be compared with == and
// used as a map key, as net/netip's Addr is for addresses.
//
// The package imports nothing of raceroute's: it is a leaf that every
// other package may use.
package kernel
