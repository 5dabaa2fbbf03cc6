/* SPDX-License-Identifier: MIT */
/*
 * tests/passthru_transport.h - a transport of the VMM's own that forwards
 * to another transport (its ctx): only the calls every device has, so no
 * backend features (no SUSPEND, no address spaces, no batching), and the
 * handle cannot run an inline sim behind it (use a threaded one, or poll
 * the sim where no control command is sent).
 */
#ifndef VDS_TEST_PASSTHRU_TRANSPORT_H
#define VDS_TEST_PASSTHRU_TRANSPORT_H

#include <libvdpastate/transport.h>

extern const struct vdpastate_transport_ops passthru_ops;

#endif
