package ebpf

// The BPF object (sensor_bpfel.o) and its Go bindings are generated and
// committed, so building and CI need no clang. After editing bpf/sensor.c,
// run `go generate ./internal/source/ebpf/` (needs clang 14+); vmlinux.h
// there is a small hand-written CO-RE subset, not a full BTF dump.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -target bpfel -type event sensor bpf/sensor.c -- -O2 -g -Wall -Ibpf
