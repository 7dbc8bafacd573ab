package kernel

import (
	"errors"
	"fmt"
	"net"
)

// MAC is an Ethernet (EUI-48) link-layer address. It is a value:
// comparable with == and usable as a map key. The zero MAC is "no
// address" (a neighbour entry without lladdr); 00:00:00:00:00:00 read off
// the wire is a valid MAC whose bytes are all zero.
type MAC struct {
	b  [6]byte
	ok bool
}

// MACFrom returns the MAC of six bytes; ok is false for any other length.
func MACFrom(b []byte) (m MAC, ok bool) {
	if len(b) != 6 {
		return MAC{}, false
	}
	copy(m.b[:], b)
	m.ok = true
	return m, true
}

// MACFrom6 returns the MAC of an array.
func MACFrom6(b [6]byte) MAC { return MAC{b: b, ok: true} }

// ParseMAC reads "aa:bb:cc:dd:ee:ff" (or with dashes, as net.ParseMAC
// does); anything but a 6-byte address is an error.
func ParseMAC(s string) (MAC, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return MAC{}, fmt.Errorf("MAC %q: %w", s, err)
	}
	m, ok := MACFrom(hw)
	if !ok {
		return MAC{}, fmt.Errorf("MAC %q: %d bytes, want an Ethernet address of 6", s, len(hw))
	}
	return m, nil
}

// MustParseMAC is ParseMAC that panics on error, intended for use in
// tests and for constants.
func MustParseMAC(s string) MAC {
	m, err := ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// IsValid reports whether m holds an address (the zero MAC does not).
func (m MAC) IsValid() bool { return m.ok }

// As6 returns the address's bytes.
func (m MAC) As6() [6]byte { return m.b }

// AsSlice returns the address's bytes, nil for the zero MAC.
func (m MAC) AsSlice() []byte {
	if !m.ok {
		return nil
	}
	b := m.b
	return b[:]
}

// HardwareAddr returns the address as the net package holds one (nil
// for the zero MAC).
func (m MAC) HardwareAddr() net.HardwareAddr { return m.AsSlice() }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m.ok && m.b == [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }

// String is the address as iproute2 prints it, "aa:bb:cc:dd:ee:ff", or
// "" for the zero MAC.
func (m MAC) String() string {
	if !m.ok {
		return ""
	}
	const hex = "0123456789abcdef"
	buf := make([]byte, 0, 17)
	for i, c := range m.b {
		if i > 0 {
			buf = append(buf, ':')
		}
		buf = append(buf, hex[c>>4], hex[c&0xf])
	}
	return string(buf)
}

// MarshalText is String, for encoding/json and friends.
func (m MAC) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads String's form; "" is the zero MAC.
func (m *MAC) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*m = MAC{}
		return nil
	}
	v, err := ParseMAC(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// errShort is returned by ReadMAC for a buffer of fewer than six bytes.
var errShort = errors.New("kernel: short MAC")

// ReadMAC returns the MAC at the start of b (a frame's address field).
func ReadMAC(b []byte) (MAC, error) {
	if len(b) < 6 {
		return MAC{}, errShort
	}
	m, _ := MACFrom(b[:6])
	return m, nil
}
