// Package version compares and constrains package versions with the
// semantics of each advisory ecosystem (Debian, Alpine, RPM, Go, npm, PyPI,
// Maven, RubyGems, semver for the rest).
package version
