// Package updateinfo loads yum/dnf repository updateinfo.xml, the form in
// which Amazon Linux (ALAS) and Oracle Linux (ELSA) publish their security
// advisories with the fixed package builds. The release comes from the
// advisory id (ALAS2023-…, ALAS2-…) or, for Oracle, from the packages'
// ".elN" release tag.
package updateinfo
