// Package text holds the small string helpers several packages need when
// they put foreign text (advisory details, messages) into bounded fields.
package text

import "unicode/utf8"

// Ellipsis marks a cut.
const Ellipsis = "…"

// Truncate cuts s to at most n bytes on a rune boundary; a cut string ends
// in Ellipsis, which counts towards n.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(Ellipsis)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Ellipsis
}
