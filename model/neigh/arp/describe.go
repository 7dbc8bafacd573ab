package arp

import (
	"fmt"

	"raceroute/profile"
)

// OpName is the operation's name in tcpdump's words.
func OpName(op uint8) string {
	if op == Reply {
		return "reply"
	}
	return "request"
}

// GarpNote says how the kernel k classified a frame that looks
// gratuitous ("" for one that does not). Stories only.
func (w *Why) GarpNote(k *profile.Profile, in *In) string {
	if !w.Garp {
		return ""
	}
	op := in.Frame.Op
	switch k.GARP {
	case profile.GARPNever:
		return fmt.Sprintf("gratuitous %s: not recognised on %s", OpName(op), k.Name)
	case profile.GARPRequestWithAccept:
		switch {
		case w.Recognised:
			return "gratuitous request: recognised (arp_accept=1), overrides locktime"
		case op == Reply:
			return fmt.Sprintf("gratuitous reply: not recognised on %s (requests only)", k.Name)
		}
		return fmt.Sprintf("gratuitous request: not recognised, arp_accept=%d", in.Accept)
	case profile.GARPRequestOrReplyWithAccept:
		switch {
		case w.Recognised:
			return fmt.Sprintf("gratuitous %s: recognised (arp_accept=1), overrides locktime", OpName(op))
		case !w.ReplyOK:
			return "reply with target MAC != sender MAC: not gratuitous"
		}
		return fmt.Sprintf("gratuitous %s: not recognised on %s without arp_accept=1 (replies backported, not the 4.12 always-override)", OpName(op), k.Name)
	case profile.GARPAlways:
		switch {
		case w.Recognised:
			return fmt.Sprintf("gratuitous %s: recognised, overrides locktime", OpName(op))
		case !w.ReplyOK:
			return "reply with target MAC != sender MAC: not gratuitous (arp_is_garp)"
		}
		return "gratuitous, but no entry and arp_accept refuses creation"
	}
	return ""
}
