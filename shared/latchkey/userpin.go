package latchkey

import "github.com/latchkey/latchkey/shared/secure"

// macPurposeUserPIN separates user-PIN MACs from every other MAC of the one
// HMAC key (security PINs, PIN codes, links, sessions).
const macPurposeUserPIN = "user-pin"

// MaxPINInputBytes is the longest PIN input compared at all; longer ones are
// refused before any work. A PIN is 6 digits: the bound only keeps absurd
// inputs away from the store and the MAC.
const MaxPINInputBytes = 64

// UserPINMAC is the stored form of user uid's PIN in tenant tid: a keyed
// HMAC bound to the tenant and the user, so that a MAC copied to another
// user or tenant matches nothing and equal PINs of two users do not show.
// A 6-digit PIN has only a million values, so the MAC's whole strength is
// the key, which is kept outside the table.
func UserPINMAC(macKey []byte, tid, uid, pin string) string {
	return secure.MAC(macKey, macPurposeUserPIN, tid+"/"+uid+"/"+pin)
}

// dummyUserPINMAC has the length of every UserPINMAC: the value compared
// with when there is no user, or the user has no PIN.
var dummyUserPINMAC = secure.MAC([]byte("latchkey-dummy"), macPurposeUserPIN, "-")

// UserPINMatches reports whether pin is the user PIN of u (nil when no user
// has the username) in tenant tid. It does the same work whoever asks: one
// MAC and one constant-time comparison, against a dummy MAC of the same
// length when there is no user or the user has no PIN.
func UserPINMatches(macKey []byte, tid string, u *User, pin string) bool {
	uid, stored := "-", dummyUserPINMAC
	if u != nil {
		uid = u.ID
		if u.PINMAC != "" {
			stored = u.PINMAC
		}
	}
	ok := secure.EqualMAC(UserPINMAC(macKey, tid, uid, pin), stored)
	return ok && u != nil && u.PINMAC != ""
}
