package locale

import "strings"

// Names are the names people know merchants and checks by: a merchant's
// display_name by its id, a check's by "merchant/check".
type Names map[string]string

// Merchant is the name to show of the merchant id.
func (n Names) Merchant(id string) string {
	if name, ok := n[id]; ok {
		return name
	}
	return id
}

// Check is the name to show of check "merchant/check": "김씨네 가게 /
// 메인" when either has a display name, else the id itself.
func (n Names) Check(id string) string {
	m, c, ok := strings.Cut(id, "/")
	if !ok {
		return id
	}
	mn, hasM := n[m]
	cn, hasC := n[id]
	if !hasM && !hasC {
		return id
	}
	if !hasM {
		mn = m
	}
	if !hasC {
		cn = c
	}
	return mn + " / " + cn
}

// CheckWithID is a check as a reply or a report shows it: its name and,
// when that is not the id, the id to type in commands.
func (n Names) CheckWithID(id string) string {
	if name := n.Check(id); name != id {
		return name + " (" + id + ")"
	}
	return id
}

// MerchantWithID is a merchant the same way.
func (n Names) MerchantWithID(id string) string {
	if name := n.Merchant(id); name != id {
		return name + " (" + id + ")"
	}
	return id
}
