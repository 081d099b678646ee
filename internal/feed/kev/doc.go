// Package kev loads the CISA Known Exploited Vulnerabilities catalogue as
// partial records that flag CVEs as exploited in the wild.
package kev
