// Package photon loads Photon OS's CVE metadata
// (packages.broadcom.com/photon/photon_cve_metadata/cve_data_photonX.Y.json):
// per release, one row per CVE and package with the first fixed build, or
// "NA" while no fix exists. The release comes from the file name.
package photon
