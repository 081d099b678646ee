// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Bulwark's node sensor: process exec, outbound connect, opens of
// sensitive paths and namespace creation, sent to user space over one ring
// buffer. Built with
// bpf2go (go generate in the parent directory); CO-RE against the running
// kernel's BTF through the preserve_access_index types in vmlinux.h.
//go:build ignore

#include "vmlinux.h"
#include "bpf_helpers.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EV_EXEC 1
#define EV_CONNECT 2
#define EV_OPEN 3
#define EV_NAMESPACE 4

// The CLONE_NEW* flags: unshare(2), clone(2) and clone3(2) creating
// namespaces. CLONE_NEWTIME (0x80) shares its bit with clone(2)'s exit
// signal, so it counts for unshare and clone3 only.
#define CLONE_NEWNS 0x00020000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define CLONE_NEWNET 0x40000000
#define CLONE_NEWTIME 0x00000080
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

#define PATH_LEN 256
#define ARGS_LEN 1024
#define PREFIX_LEN 60
#define PREFIXES 16

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

// One record for every kind: fixed size so bpf_ringbuf_reserve takes a
// constant. Kept in sync with event in sensor.go (bpf2go generates it).
struct event {
	u32 type;
	u32 pid;  // tgid
	u32 tid;
	u32 ppid;
	u32 uid;
	u32 euid;
	u64 cgroup_id;
	u64 ts;   // CLOCK_MONOTONIC ns (bpf_ktime_get_ns)
	char comm[16];
	char pcomm[16];
	u32 flags;    // exec: bit 0 stdin is a socket, bit 1 stdout, bit 2 has a
	              // controlling terminal; open: open(2) flags;
	              // connect: the socket type (SOCK_STREAM 1, SOCK_DGRAM 2; 0 unknown);
	              // namespace: the CLONE_NEW* flags asked for (path: the syscall)
	s32 ret;      // connect: the syscall's return value
	u16 family;
	u16 port;     // host byte order
	u32 args_len; // exec: bytes of NUL-separated argv in args
	u8 addr[16];
	char path[PATH_LEN];
	char args[ARGS_LEN];
};

struct prefix {
	u32 len;
	char p[PREFIX_LEN];
};

struct pending_conn {
	u16 family;
	u16 port;
	u32 type;
	u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

// Sensitive path prefixes, set by the loader before the program loads:
// read-only data, so matching costs no map lookups.
volatile const struct prefix sensitive_prefixes[PREFIXES];
volatile const u32 n_prefixes = 0;

// connect(2) arguments between syscall entry and exit, by thread.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, u64);
	__type(value, struct pending_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[PATH_LEN]);
} scratch SEC(".maps");

// dropped[0]: records lost because the ring buffer was full.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} dropped SEC(".maps");

// Set by the loader: 0 sends every openat to user space (to measure the
// cost of filtering there instead).
volatile const u32 filter_in_kernel = 1;

#define READ(dst, src) bpf_probe_read_kernel(&(dst), sizeof(dst), &(src))

static __always_inline void count_drop(void)
{
	u32 k = 0;
	u64 *d = bpf_map_lookup_elem(&dropped, &k);
	if (d)
		__sync_fetch_and_add(d, 1);
}

static __always_inline void fill_common(struct event *e, u32 type)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 ug = bpf_get_current_uid_gid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = 0;
	const struct cred *cred = 0;

	e->type = type;
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->uid = (u32)ug;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ts = bpf_ktime_get_ns();
	e->flags = 0;
	e->ret = 0;
	e->family = 0;
	e->port = 0;
	e->args_len = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	READ(parent, task->real_parent);
	e->ppid = 0;
	if (parent) {
		READ(e->ppid, parent->tgid);
		bpf_probe_read_kernel_str(e->pcomm, sizeof(e->pcomm), &parent->comm);
	} else {
		e->pcomm[0] = 0;
	}
	e->euid = e->uid;
	READ(cred, task->cred);
	if (cred)
		READ(e->euid, cred->euid.val);
}

static __always_inline int is_socket(struct file **fds, int i)
{
	struct file *f = 0;
	struct inode *ino = 0;
	umode_t mode = 0;

	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[i]) || !f)
		return 0;
	READ(ino, f->f_inode);
	if (!ino)
		return 0;
	READ(mode, ino->i_mode);
	return (mode & S_IFMT) == S_IFSOCK;
}

SEC("raw_tracepoint/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	const char *fn = 0;
	struct mm_struct *mm = 0;
	struct files_struct *files = 0;
	struct fdtable *fdt = 0;
	struct file **fds = 0;
	unsigned long as = 0, ae = 0;
	u64 len;

	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_common(e, EV_EXEC);
	e->path[0] = 0;
	READ(fn, bprm->filename);
	if (fn)
		bpf_probe_read_kernel_str(e->path, sizeof(e->path), fn);

	// argv lives in the new image's stack, between arg_start and arg_end.
	READ(mm, task->mm);
	if (mm) {
		READ(as, mm->arg_start);
		READ(ae, mm->arg_end);
	}
	len = ae > as ? ae - as : 0;
	if (len > ARGS_LEN - 1)
		len = ARGS_LEN - 1;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)as) == 0)
		e->args_len = len;

	struct signal_struct *sig = 0;
	void *tty = 0;
	READ(sig, task->signal);
	if (sig)
		READ(tty, sig->tty);
	if (tty)
		e->flags |= 4;

	READ(files, task->files);
	if (files)
		READ(fdt, files->fdt);
	if (fdt)
		READ(fds, fdt->fd);
	if (fds) {
		if (is_socket(fds, 0))
			e->flags |= 1;
		if (is_socket(fds, 1))
			e->flags |= 2;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

// sock_type returns the type of the socket open as fd in the current
// task (SOCK_STREAM, SOCK_DGRAM), or 0.
static __always_inline u32 sock_type(u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = 0;
	struct fdtable *fdt = 0;
	struct file **fds = 0;
	struct file *f = 0;
	struct socket *sock = 0;
	unsigned int max = 0;
	short type = 0;

	READ(files, task->files);
	if (!files)
		return 0;
	READ(fdt, files->fdt);
	if (!fdt)
		return 0;
	READ(max, fdt->max_fds);
	READ(fds, fdt->fd);
	if (!fds || fd >= max)
		return 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return 0;
	READ(sock, f->private_data);
	if (!sock)
		return 0;
	READ(type, sock->type);
	return (u32)type;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int on_connect_enter(struct syscall_enter_ctx *ctx)
{
	const void *uaddr = (const void *)ctx->args[1];
	struct pending_conn pc = {};
	u64 id = bpf_get_current_pid_tgid();

	if (bpf_probe_read_user(&pc.family, sizeof(pc.family), uaddr))
		return 0;
	if (pc.family == AF_INET) {
		struct sockaddr_in sa = {};
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return 0;
		pc.port = __builtin_bswap16(sa.sin_port);
		__builtin_memcpy(pc.addr, &sa.sin_addr, 4);
	} else if (pc.family == AF_INET6) {
		struct sockaddr_in6 sa = {};
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return 0;
		pc.port = __builtin_bswap16(sa.sin6_port);
		__builtin_memcpy(pc.addr, sa.sin6_addr, 16);
	} else {
		return 0;
	}
	pc.type = sock_type(ctx->args[0]);
	bpf_map_update_elem(&conns, &id, &pc, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int on_connect_exit(struct syscall_exit_ctx *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct pending_conn *pc = bpf_map_lookup_elem(&conns, &id);
	if (!pc)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		bpf_map_delete_elem(&conns, &id);
		return 0;
	}
	fill_common(e, EV_CONNECT);
	e->ret = (s32)ctx->ret;
	e->flags = pc->type;
	e->family = pc->family;
	e->port = pc->port;
	__builtin_memcpy(e->addr, pc->addr, 16);
	e->path[0] = 0;
	bpf_map_delete_elem(&conns, &id);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int sensitive(const char *path)
{
	// Every default prefix is absolute: relative paths and most
	// opens (/usr, /lib, /proc/self) leave at the first bytes.
	if (path[0] != '/')
		return 0;
	for (u32 i = 0; i < PREFIXES && i < n_prefixes; i++) {
		const volatile struct prefix *p = &sensitive_prefixes[i];
		u32 len = p->len;
		if (len == 0 || len > PREFIX_LEN)
			continue;
		u32 j = 0;
		for (; j < PREFIX_LEN; j++) {
			if (j >= len || path[j] != p->p[j])
				break;
		}
		if (j == len)
			return 1;
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(struct syscall_enter_ctx *ctx)
{
	u32 k = 0;
	char *buf = bpf_map_lookup_elem(&scratch, &k);
	if (!buf)
		return 0;
	if (bpf_probe_read_user_str(buf, PATH_LEN, (const void *)ctx->args[1]) <= 0)
		return 0;
	if (filter_in_kernel && !sensitive(buf))
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_common(e, EV_OPEN);
	e->flags = (u32)ctx->args[2];
	__builtin_memcpy(e->path, buf, PATH_LEN);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

// emit_namespace sends a namespace record when flags create any; most
// clone(2) calls (fork, threads) create none and cost only this test.
static __always_inline int emit_namespace(u64 flags, u64 mask, const char *syscall, u32 n)
{
	flags &= mask;
	if (!flags)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	fill_common(e, EV_NAMESPACE);
	e->flags = (u32)flags;
	e->path[0] = 0;
	for (u32 i = 0; i < n && i < 8; i++)
		e->path[i] = syscall[i];
	e->path[n < 8 ? n : 7] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int on_unshare(struct syscall_enter_ctx *ctx)
{
	return emit_namespace(ctx->args[0], NS_FLAGS | CLONE_NEWTIME, "unshare", 7);
}

SEC("tracepoint/syscalls/sys_enter_clone")
int on_clone(struct syscall_enter_ctx *ctx)
{
	// x86-64 and arm64 both pass the flags first.
	return emit_namespace(ctx->args[0], NS_FLAGS, "clone", 5);
}

SEC("tracepoint/syscalls/sys_enter_clone3")
int on_clone3(struct syscall_enter_ctx *ctx)
{
	u64 flags = 0; // struct clone_args starts with the flags
	if (bpf_probe_read_user(&flags, sizeof(flags), (const void *)ctx->args[0]))
		return 0;
	return emit_namespace(flags, NS_FLAGS | CLONE_NEWTIME, "clone3", 6);
}

// Referenced so clang emits their BTF, from which bpf2go generates Go types.
const struct event *unused_event __attribute__((unused));
