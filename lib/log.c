/* SPDX-License-Identifier: MIT */
/*
 * lib/log.c - the process-wide log callback.  Silent until the VMM installs
 * one; messages are formatted only when someone listens.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static vdpastate_log_fn log_fn;
static void *log_user;
static enum vdpastate_log_level log_max = VDPASTATE_LOG_ERROR;

VDPASTATE_API int vdpastate_set_log(vdpastate_log_fn fn, void *user,
				    enum vdpastate_log_level max_level)
{
	if ((unsigned int)max_level > VDPASTATE_LOG_DEBUG)
		return vds_fail(-EINVAL, "set_log: unknown log level %d",
				(int)max_level);
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_user = user;
	log_max = max_level;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void vds_log(enum vdpastate_log_level level, const char *fmt, ...)
{
	char msg[VDS_ERRMSG_MAX];
	vdpastate_log_fn fn;
	void *user;
	va_list ap;
	int n;

	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	user = log_user;
	if (level > log_max)
		fn = NULL;
	pthread_mutex_unlock(&log_lock);
	if (!fn)
		return;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	/* Called outside the lock so the callback may log through the VMM. */
	fn(level, msg, user);
}
