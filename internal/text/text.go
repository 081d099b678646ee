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

// TruncateRunes cuts s to at most n runes, for columns people read (a
// table cell's width is in characters, not bytes); a cut string ends in
// Ellipsis, which counts as one.
func TruncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + Ellipsis
}
