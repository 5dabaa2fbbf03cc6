/* SPDX-License-Identifier: MIT */
/*
 * lib/evfd.c - signalling and draining the eventfds the library is given.
 */
#include "config.h"

#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "internal.h"

bool vds_fd_signal(int fd)
{
	uint64_t one = 1;

	/* A full eventfd has signalled already. */
	return fd < 0 || write(fd, &one, sizeof(one)) == sizeof(one);
}

void vds_fd_drain(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	/* poll first: the fd may be blocking. */
	if (fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
	    read(fd, &v, sizeof(v)) < 0) {
		/* Drained by someone else meanwhile. */
	}
}
