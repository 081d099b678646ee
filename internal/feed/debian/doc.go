// Package debian loads the Debian security tracker's data: the tracker JSON
// (security-tracker.debian.org/tracker/data/json), the DSA/DLA/DTSA text
// lists, the data/CVE/list text file and aquasecurity/vuln-list-debian's
// per-advisory JSON, all into advisory records with "Debian:<n>" ecosystems
// and source-package names.
//
// Encoding rules the matcher relies on:
//
//   - A fixed line ("[bookworm] - perl 5.36.0-7+deb12u3") becomes an ECOSYSTEM
//     range introduced 0, fixed V with Status "" (the range decides). A fixed
//     version of "0" means the release never shipped vulnerable code:
//     Status not-affected.
//   - <unfixed>, <no-dsa>, <postponed>, <undetermined>, "TODO: check" → Status
//     unfixed (every version affected, no fix for the release); the reason is
//     in Note ("no DSA: Minor issue", "postponed: …").
//   - <ignored>, <end-of-life> → Status will-not-fix; <not-affected> and
//     <removed> → Status not-affected (for <removed>: the package is gone from
//     that release).
//   - data/CVE/list inheritance: a line without "[release]" is the unstable
//     (sid) status, and each release in the inherit set (buster…trixie by
//     default, WithInheritReleases) that has no line of its own for that
//     package inherits it. When sid is fixed at V, the inherited entry is
//     Status unfixed AND a range introduced 0, fixed V, with Note "fixed in
//     unstable V; no fix for this release yet": Ranges, whenever present,
//     bound which versions are affected (a release version ≥ V already has
//     the fix), while Status unfixed says that V is not a fix published for
//     this release. Other inherited statuses carry "inherited from unstable"
//     in Note.
//   - Debian urgency is kept per Affected in Severity: unimportant → low
//     (Note then says "urgency: unimportant" so the distinction is not lost),
//     low/medium/high as is, "not yet assigned" → no severity. Release lines
//     without their own urgency take the unstable line's.
//   - Releases are numbered ecosystems ("Debian:12"); sid, experimental and
//     unknown codenames are not emitted as ecosystems.
//   - DSA/DLA/DTSA records are Vulnerability{ID: "DSA-5380-1", Aliases: the
//     CVEs}; CVE records list their {DSA-… DLA-…} cross-references as tracker
//     URLs in References, so a matcher has to join both kinds by alias.
package debian
