/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/common.h - base definitions shared by every module:
 * the export marker, option structs, error codes and the log callback.
 */
#ifndef LIBVDPASTATE_COMMON_H
#define LIBVDPASTATE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a symbol that is part of the library's ABI. */
#ifndef VDPASTATE_API
#define VDPASTATE_API __attribute__((visibility("default")))
#endif

/*
 * Option structs.  Every function whose arguments may grow takes a pointer
 * to a struct whose first member is "size_t sz", the size of the struct the
 * caller was compiled against.  The library reads only the fields that fit
 * in sz and rejects a struct whose bytes beyond the library's own size are
 * not zero (-EINVAL), so a program built against a newer header fails
 * cleanly on an older library instead of having its new options ignored.
 *
 *     VDPASTATE_OPTS(vdpastate_foo_opts, opts, .bar = 1);
 *     vdpastate_foo(..., &opts);
 *
 * Option structs are laid out without padding holes, so the zeroing done
 * by the initializer covers every byte.
 */
#define VDPASTATE_OPTS(TYPE, NAME, ...) \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/*
 * Errors.  Functions returning int return a value >= 0 on success and a
 * negative errno on failure; functions returning a pointer return NULL and
 * set errno.  Besides the system errno values the library defines its own
 * codes, starting at VDPASTATE_ERRNO_BASE, above every system errno.
 */
enum vdpastate_errno {
	VDPASTATE_ERRNO_BASE = 4000,
	/* The guest broke the virtqueue protocol; the queue is disabled. */
	VDPASTATE_EGUEST = VDPASTATE_ERRNO_BASE,
	/* The device broke the virtqueue protocol; the queue is disabled. */
	VDPASTATE_EDEVICE,
	/* A virtio feature the operation needs was not offered/negotiated. */
	VDPASTATE_EFEATURE,
	/* The object was disabled by an earlier error and must be reset. */
	VDPASTATE_EDISABLED,
	/* The destination device cannot take the saved state. */
	VDPASTATE_EINCOMPAT,
	/* One past the last library code. */
	VDPASTATE_ERRNO_END
};

/*
 * Describe an error code: a system errno or a library code, positive or
 * negative.  The string is static or thread-local; it stays valid until the
 * next call of vdpastate_strerror() on the same thread.
 */
VDPASTATE_API const char *vdpastate_strerror(int err);

/*
 * The message of the most recent failure reported by the library on the
 * calling thread ("" if none), e.g. "iova: map [0x1000, 0x1fff]: overlaps
 * an existing mapping".  Kept until the next failure on the thread.
 */
VDPASTATE_API const char *vdpastate_last_error(void);

/* Logging: silent by default; the VMM installs a callback. */
enum vdpastate_log_level {
	VDPASTATE_LOG_ERROR = 0,
	VDPASTATE_LOG_WARN = 1,
	VDPASTATE_LOG_INFO = 2,
	VDPASTATE_LOG_DEBUG = 3
};

typedef void (*vdpastate_log_fn)(enum vdpastate_log_level level,
				 const char *msg, void *user);

/*
 * Install fn (NULL: silence) to receive every message of a level up to and
 * including max_level.  Process-wide; may be called at any time from any
 * thread.  fn may be called from any thread that calls into the library and
 * must not call vdpastate_set_log() itself.  Returns 0, or -EINVAL for an
 * unknown level.
 */
VDPASTATE_API int vdpastate_set_log(vdpastate_log_fn fn, void *user,
				    enum vdpastate_log_level max_level);

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_COMMON_H */
