// Package cvss parses and scores CVSS v2, v3.0, v3.1 and v4.0 base vectors.
package cvss
