/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vmtest.c - result lines and vDPA device setup for the VM test
 * programs (see vmtest.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/mgmt.h>

#include "vmtest.h"

static const char *case_name = "?";
static unsigned int failures;

void vmt_case(const char *name)
{
	case_name = name;
}

int vmt_result(const char *check, int failed, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* One line each, whatever the detail holds. */
	for (p = detail; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("VMTEST %s/%s %s %s\n", case_name, check,
	       failed ? "FAIL" : "PASS", detail);
	fflush(stdout);
	if (failed)
		failures++;
	return failed ? -1 : 0;
}

unsigned int vmt_failures(void)
{
	return failures;
}

int vmt_exit(void)
{
	return failures ? 1 : 0;
}

double vmt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_sysfs(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* The vhost-vdpa-N child of the vdpa device in sysfs, if bound. */
static int find_vhost(const char *name, char *path, size_t len)
{
	char dir[256];
	struct dirent *d;
	DIR *dd;
	int r = -1;

	snprintf(dir, sizeof(dir), "/sys/bus/vdpa/devices/%s", name);
	dd = opendir(dir);
	if (!dd)
		return -1;
	while ((d = readdir(dd)))
		if (!strncmp(d->d_name, "vhost-vdpa-", 11)) {
			snprintf(path, len, "/dev/%s", d->d_name);
			r = 0;
			break;
		}
	closedir(dd);
	return r;
}

int vmt_dev_create(const char *name, const uint8_t mac[6], char *path,
		   size_t path_len, char *why, size_t why_len)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = name,
		       .mgmtdev = VMT_MGMTDEV, .set = VDPASTATE_MGMT_ADD_MAC);
	struct vdpastate_mgmt *m = vdpastate_mgmt_open(NULL);
	struct stat st;
	int i, r;

	if (!m) {
		snprintf(why, why_len, "mgmt open: %s", vdpastate_last_error());
		return -1;
	}
	memcpy(o.mac, mac, 6);
	r = vdpastate_mgmt_dev_add(m, &o);
	vdpastate_mgmt_close(m);
	if (r) {
		snprintf(why, why_len, "dev add %s: %s", name,
			 vdpastate_last_error());
		return -1;
	}
	if (find_vhost(name, path, path_len)) {
		/* virtio_vdpa took it: hand it to vhost_vdpa. */
		write_sysfs("/sys/bus/vdpa/drivers/virtio_vdpa/unbind", name);
		write_sysfs("/sys/bus/vdpa/drivers/vhost_vdpa/bind", name);
	}
	/* devtmpfs creates the node as the device registers; allow a moment. */
	for (i = 0; i < 100; i++) {
		if (!find_vhost(name, path, path_len) && !stat(path, &st) &&
		    S_ISCHR(st.st_mode))
			return 0;
		usleep(10000);
	}
	snprintf(why, why_len,
		 "%s: no vhost-vdpa character device appeared (is vhost_vdpa "
		 "built in?)",
		 name);
	return -1;
}

int vmt_dev_destroy(const char *name, char *why, size_t why_len)
{
	struct vdpastate_mgmt *m = vdpastate_mgmt_open(NULL);
	int r;

	if (!m) {
		snprintf(why, why_len, "mgmt open: %s", vdpastate_last_error());
		return -1;
	}
	r = vdpastate_mgmt_dev_del(m, name);
	if (r)
		snprintf(why, why_len, "dev del %s: %s", name,
			 vdpastate_last_error());
	vdpastate_mgmt_close(m);
	return r ? -1 : 0;
}
