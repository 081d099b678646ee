package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (RFC 9106's second recommended option, with 64 MiB):
// slow enough to make a stolen store expensive to crack, fast enough for a
// log-in (about 50 ms on this machine's cores).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// MinPasswordLength follows NIST SP 800-63B's floor for chosen passwords.
const MinPasswordLength = 12

// CheckPasswordPolicy refuses passwords too short or too long to be sane.
func CheckPasswordPolicy(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return fmt.Errorf("password too short: at least %d characters", MinPasswordLength)
	}
	if len(pw) > 1024 {
		return errors.New("password too long: at most 1024 bytes")
	}
	return nil
}

// HashPassword hashes a password with Argon2id in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword compares a password with a stored hash.
func VerifyPassword(pw, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 256*1024 || t > 10 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when a user does not exist, so a log-in
// takes as long for an unknown name as for a wrong password. Made on first
// use: other commands of the binary never pay for it.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("bulwark-no-such-user")
	return h
})

// VerifyDummy burns the time of one verification.
func VerifyDummy(pw string) { VerifyPassword(pw, dummyHash()) }

// GeneratePassword makes a random password for the initial admin.
func GeneratePassword() (string, error) { return RandomString(18) }
