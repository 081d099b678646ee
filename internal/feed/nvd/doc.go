// Package nvd loads NVD CVE records (legacy JSON 1.1 feeds and CVE API 2.0
// pages) as enrichment: descriptions, CVSS ratings, dates and references,
// but no affected packages, since CPE matching causes false positives.
package nvd
