// Package sbom reads CycloneDX and SPDX JSON SBOMs (ours, syft's, trivy's)
// into Bulwark's package inventory, so an SBOM can be scanned like an image.
package sbom
