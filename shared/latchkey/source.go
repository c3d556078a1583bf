package latchkey

import "net/netip"

// SourceKey returns the key under which a caller's source address is rate
// limited: the address itself for IPv4, its /64 network for IPv6 (one
// subscriber usually holds a whole /64, so counting single IPv6 addresses
// would let one caller rotate through billions of them). An address that
// does not parse is counted as "unknown".
func SourceKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return "unknown"
	}
	return p.String()
}
