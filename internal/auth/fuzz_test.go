package auth

import "testing"

// FuzzParseToken: a parsed token always re-forms into the same string, and
// nothing panics on hostile Authorization headers.
func FuzzParseToken(f *testing.F) {
	_, tok, _, _ := NewToken()
	for _, s := range []string{tok, "bwt_", "bwt_0123456789ab_", "bwt_0123456789ab_" + "x", "Bearer x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := ParseToken(s)
		if !ok {
			return
		}
		if len(id) != 12 || len(secret) < 20 {
			t.Fatalf("accepted %q as id %q secret %q", s, id, secret)
		}
	})
}

func FuzzVerifyPassword(f *testing.F) {
	h, _ := HashPassword("a long enough password")
	f.Add("a long enough password", h)
	f.Add("x", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA")
	f.Add("x", "$argon2id$v=19$m=999999999,t=999,p=255$AAAA$AAAA")
	f.Fuzz(func(t *testing.T, pw, enc string) {
		VerifyPassword(pw, enc) // must not panic or run away on a hostile hash
	})
}
