// Package match turns installed packages and advisory data into findings:
// one finding per vulnerability (all its aliases merged) per package.
package match
