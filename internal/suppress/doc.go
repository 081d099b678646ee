// Package suppress applies the user's decisions to findings: ignore files
// (exempt until an expiry date) and OpenVEX statements (not affected).
package suppress
