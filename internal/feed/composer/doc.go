// Package composer loads the FriendsOfPHP security-advisories YAML for
// Packagist: one Vulnerability per file (ID the CVE, else
// "FOP-<vendor>/<package>/<file id>") and one Affected whose
// AffectedConstraints hold one comma-joined constraint per branch
// (">=2.7.0,<2.7.51").
package composer
