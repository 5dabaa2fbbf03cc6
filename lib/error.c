/* SPDX-License-Identifier: MIT */
/*
 * lib/error.c - error codes, their descriptions, the per-thread last error
 * message, and option-struct validation.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const lib_errstr[] = {
	[VDPASTATE_EGUEST - VDPASTATE_ERRNO_BASE] =
		"guest broke the virtqueue protocol; queue disabled",
	[VDPASTATE_EDEVICE - VDPASTATE_ERRNO_BASE] =
		"device broke the virtqueue protocol; queue disabled",
	[VDPASTATE_EFEATURE - VDPASTATE_ERRNO_BASE] =
		"required virtio feature not offered or not negotiated",
	[VDPASTATE_EDISABLED - VDPASTATE_ERRNO_BASE] =
		"object disabled by an earlier error",
	[VDPASTATE_EINCOMPAT - VDPASTATE_ERRNO_BASE] =
		"destination device incompatible with the saved state",
};

_Static_assert(VDS_ARRAY_SIZE(lib_errstr) ==
		       VDPASTATE_ERRNO_END - VDPASTATE_ERRNO_BASE,
	       "every library error code needs a description");

static __thread char strerr_buf[128];
static __thread char last_err[VDS_ERRMSG_MAX];
static __thread unsigned long err_count;

VDPASTATE_API const char *vdpastate_strerror(int err)
{
	/* -INT_MIN is not an int; no code is that large anyway. */
	if (err < 0 && err > INT_MIN)
		err = -err;
	if (err >= VDPASTATE_ERRNO_BASE && err < VDPASTATE_ERRNO_END)
		return lib_errstr[err - VDPASTATE_ERRNO_BASE];
	if (err > 0 && err < VDPASTATE_ERRNO_BASE) {
		const char *s = strerrordesc_np(err);

		if (s)
			return s;
	}
	snprintf(strerr_buf, sizeof(strerr_buf), "Unknown error %d", err);
	return strerr_buf;
}

VDPASTATE_API const char *vdpastate_last_error(void)
{
	return last_err;
}

static void VDS_PRINTF(1, 0) record(const char *fmt, va_list ap)
{
	char tmp[VDS_ERRMSG_MAX];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	/* Never truncate silently: a cut message says so. */
	if (n >= (int)sizeof(tmp))
		memcpy(tmp + sizeof(tmp) - 4, "...", 4);
	/* Formatted apart, so the previous message may be an argument. */
	memcpy(last_err, tmp, sizeof(tmp));
	err_count++;
}

int vds_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(fmt, ap);
	va_end(ap);
	vds_log(VDPASTATE_LOG_ERROR, "%s", last_err);
	return err;
}

void *vds_fail_ptr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(fmt, ap);
	va_end(ap);
	vds_log(VDPASTATE_LOG_ERROR, "%s", last_err);
	errno = err < 0 ? -err : err;
	return NULL;
}

int vds_opts_check(const void *opts, size_t lib_sz, const char *type_name)
{
	const unsigned char *p = opts;
	size_t sz, i;

	if (!opts)
		return 0;
	memcpy(&sz, opts, sizeof(sz));
	if (sz < sizeof(size_t))
		return vds_fail(-EINVAL, "%s: sz %zu is smaller than the sz field",
				type_name, sz);
	for (i = lib_sz; i < sz; i++)
		if (p[i])
			return vds_fail(-EINVAL,
					"%s: byte %zu is set but this library "
					"(size %zu) does not know that option",
					type_name, i, lib_sz);
	return 0;
}

int vds_out_copy(void *out, const void *full, size_t full_sz,
		 const char *type_name)
{
	size_t sz;

	if (!out)
		return vds_fail(-EINVAL, "%s: NULL output struct", type_name);
	memcpy(&sz, out, sizeof(sz));
	if (sz < sizeof(size_t))
		return vds_fail(-EINVAL, "%s: sz %zu is smaller than the sz field",
				type_name, sz);
	memcpy((char *)out + sizeof(size_t), (const char *)full + sizeof(size_t),
	       (sz < full_sz ? sz : full_sz) - sizeof(size_t));
	if (sz > full_sz)
		memset((char *)out + full_sz, 0, sz - full_sz);
	return 0;
}

unsigned long vds_error_count(void)
{
	return err_count;
}
