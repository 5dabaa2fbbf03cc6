/* SPDX-License-Identifier: MIT */
/*
 * lib/sim_int.h - the simulated device's record of how it was driven:
 * every operation that changed it and every control command it answered,
 * in the order they happened.  A device cannot tell its driver that the
 * order was wrong (enabling a data queue early is legal, and so is
 * mapping a ring in the wrong address space); the library's tests read
 * the record to check that the handle keeps the order it promises.
 * Never installed.
 */
#ifndef VDS_SIM_INT_H
#define VDS_SIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vdpastate_sim;

enum vds_sim_ev {
	VDS_SIM_EV_STATUS = 1, /* a: status written (0: reset), b: status now */
	VDS_SIM_EV_FEATURES,   /* v: driver features */
	VDS_SIM_EV_BACKEND,    /* v: backend features */
	VDS_SIM_EV_VRING_NUM,  /* q, a: size */
	VDS_SIM_EV_VRING_ADDR, /* q, v: descriptor area */
	VDS_SIM_EV_SET_BASE,   /* q, a: base */
	VDS_SIM_EV_GET_BASE,   /* q, a: base returned */
	VDS_SIM_EV_KICK,       /* q, a: fd */
	VDS_SIM_EV_CALL,       /* q, a: fd */
	VDS_SIM_EV_ENABLE,     /* q, a: 1 enabled, 0 disabled */
	VDS_SIM_EV_GROUP_ASID, /* a: group, b: address space */
	VDS_SIM_EV_MAP,        /* a: address space, v: IOVA, w: size */
	VDS_SIM_EV_UNMAP,      /* a: address space, v: IOVA, w: size */
	VDS_SIM_EV_SUSPEND,
	VDS_SIM_EV_RESUME,
	VDS_SIM_EV_CVQ,        /* q, a: class << 8 | command, b: the ack */
};

struct vds_sim_event {
	enum vds_sim_ev kind;
	uint32_t q;   /* the queue, for the kinds that name one */
	uint32_t a, b;
	uint64_t v, w;
	bool cvq;     /* q is the control queue */
	bool running; /* q ran before the operation: DRIVER_OK, enabled,
		       * not suspended (a base read from it is stale) */
};

/*
 * Start recording, what was recorded before forgotten (on), or stop and
 * forget (off).  Off at creation: a device that runs for long would
 * otherwise keep growing.
 */
void vds_sim_record(struct vdpastate_sim *s, bool on);

/*
 * A copy of the events recorded so far, in order, into *out (free() it;
 * NULL when there are none) and their number into *n.  0, or -ENOMEM
 * when memory ran out for the copy or while recording (the record then
 * has a gap, so none of it is given).
 */
int vds_sim_events(struct vdpastate_sim *s, struct vds_sim_event **out,
		   size_t *n);

#endif /* VDS_SIM_INT_H */
