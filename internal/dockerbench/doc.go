// Package dockerbench assesses a Docker host against every control of the
// CIS Docker Benchmark (v1.6.0 numbering). A collector gathers one Snapshot
// of facts (engine API, host files under a root, audit rules, the dockerd
// command line); each control is data plus a pure function over that
// snapshot, one check_<id>.go file per control, registered in one table.
package dockerbench
