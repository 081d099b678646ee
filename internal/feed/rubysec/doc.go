// Package rubysec loads the ruby-advisory-db (RubySec) gem advisories:
// one Vulnerability per file (ID CVE-…, else GHSA-…, else the file's own
// id) and one RubyGems Affected whose UnaffectedConstraints are the
// patched_versions and unaffected_versions requirement strings.
//
// Advisories under rubies/ (engine: ruby, jruby, …: the interpreters) are
// recognised but skipped: no cataloger reports a Ruby interpreter as a
// package yet, and inventing an ecosystem for them would produce records no
// matcher reads. Load returns 0 for them and the loader counts them
// (Skipped).
package rubysec
