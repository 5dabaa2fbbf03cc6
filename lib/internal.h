/* SPDX-License-Identifier: MIT */
/*
 * lib/internal.h - private helpers shared by every module: option-struct
 * access, error reporting and logging.  Never installed.
 */
#ifndef VDS_INTERNAL_H
#define VDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#define VDS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VDS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define vds_likely(x) __builtin_expect(!!(x), 1)
#define vds_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Validate an option struct the caller passed: NULL is valid (all
 * defaults); sz must cover at least the sz member; bytes the caller has
 * beyond the library's own struct must be zero.  Returns 0 or -EINVAL
 * (with a message naming the struct).
 */
int vds_opts_check(const void *opts, size_t lib_sz, const char *type_name);

#define VDS_OPTS_VALID(opts, type) \
	vds_opts_check((opts), sizeof(struct type), #type)

/* True when the caller's struct is large enough to hold field. */
#define VDS_OPTS_HAS(opts, field)                                       \
	((opts) != NULL &&                                              \
	 offsetof(__typeof__(*(opts)), field) + sizeof((opts)->field) <= \
		 (opts)->sz)

/* The caller's value of field, or def when absent. */
#define VDS_OPTS_GET(opts, field, def) \
	(VDS_OPTS_HAS(opts, field) ? (opts)->field : (def))

/*
 * Fill a caller's sz-first output struct from the library's full one:
 * copies what fits in the caller's sz, zeroes what the caller has beyond
 * the library's struct, keeps the caller's sz.  -EINVAL if sz is too small.
 */
int vds_out_copy(void *out, const void *full, size_t full_sz,
		 const char *type_name);

/* Send a message to the VMM's log callback, if one is installed. */
void vds_log(enum vdpastate_log_level level, const char *fmt, ...)
	VDS_PRINTF(2, 3);

/*
 * Report a failure: record the message as the thread's last error, log it
 * at ERROR level and return err (a negative errno) so callers can write
 * "return vds_fail(-EINVAL, "iova: size 0");".
 */
int vds_fail(int err, const char *fmt, ...) VDS_PRINTF(2, 3);

/* Like vds_fail() for pointer-returning functions: sets errno, returns NULL. */
void *vds_fail_ptr(int err, const char *fmt, ...) VDS_PRINTF(2, 3);

/* Size of the per-thread last-error buffer (messages longer end in "..."). */
#define VDS_ERRMSG_MAX 512

/*
 * How many failures the calling thread has reported so far.  Compared
 * before and after a callback, it tells whether the callback reported its
 * own (more precise) message, which the caller then keeps.
 */
unsigned long vds_error_count(void);

/*
 * Memory the library gives a device itself (the handle's control ring,
 * SVQ rings): page-aligned, zeroed, and a shared mapping, because for a
 * device that works on user virtual addresses (Linux 6.12's vdpa_sim,
 * VDUSE) vhost-vdpa maps only shared file-backed memory and silently
 * skips the rest.  NULL with errno set on failure; vds_dma_free() takes
 * the size it was allocated with (NULL is a no-op).
 */
void *vds_dma_alloc(size_t size);
void vds_dma_free(void *p, size_t size);

/*
 * Whether [p, p + size) lies wholly in shared mappings of files (memfd,
 * shmem, MAP_SHARED | MAP_ANONYMOUS, hugetlbfs), as /proc/self/maps
 * says: 1 yes, 0 no, a negative errno when the maps cannot be read.
 */
int vds_mem_shared(const void *p, size_t size);

/* Signal an eventfd (-1: none); false if the write failed. */
bool vds_fd_signal(int fd);
/* Drain an eventfd (-1: none) without blocking, blocking fd or not. */
void vds_fd_drain(int fd);

/* lib/blob.c, for the device handle: a record of the library's range
 * (once per blob), and whether a blob holds a netstate (no error set). */
struct vdpastate_blob;
int vds_blob_add_lib_record(struct vdpastate_blob *blob, uint16_t type,
			    uint8_t flags, const void *value, uint32_t len);
bool vds_blob_has_netstate(const struct vdpastate_blob *blob);

/* lib/netstate.c: 0 if the NOTF_COAL_VQ_SET/VQ_GET c names a virtqueue
 * enabled in s (below 2 * active pairs), else -EINVAL with a message. */
struct vdpastate_netstate;
struct vdpastate_cvq_cmd;
int vds_netstate_vq_enabled(const struct vdpastate_netstate *s,
			    const struct vdpastate_cvq_cmd *c);

#endif /* VDS_INTERNAL_H */
