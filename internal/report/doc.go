// Package report renders one model.Report in every output format Bulwark
// speaks: canonical JSON, a terminal table, SARIF, CycloneDX and SPDX.
package report
