/* SPDX-License-Identifier: MIT */
/*
 * lib/sim_int.h - the simulated device's ops table and constructor, for
 * the transport glue and for tests that drive the ops directly.  Never
 * installed.
 */
#ifndef VDS_SIM_INT_H
#define VDS_SIM_INT_H

#include <libvdpastate/sim.h>
#include <libvdpastate/transport.h>

extern const struct vdpastate_transport_ops vds_sim_ops;

/* A device (ctx of vds_sim_ops), or NULL with errno set. */
struct vdpastate_sim *vds_sim_create(const struct vdpastate_sim_opts *opts);

#endif /* VDS_SIM_INT_H */
