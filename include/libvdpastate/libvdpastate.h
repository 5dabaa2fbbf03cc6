/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/libvdpastate.h - umbrella header: includes every module.
 */
#ifndef LIBVDPASTATE_LIBVDPASTATE_H
#define LIBVDPASTATE_LIBVDPASTATE_H

#include <libvdpastate/common.h>
#include <libvdpastate/version.h>
#include <libvdpastate/mem.h>
#include <libvdpastate/iova.h>
#include <libvdpastate/vring.h>
#include <libvdpastate/svq.h>
#include <libvdpastate/cvq.h>
#include <libvdpastate/netstate.h>
#include <libvdpastate/transport.h>
#include <libvdpastate/sim.h>
#include <libvdpastate/dev.h>
#include <libvdpastate/mgmt.h>

#endif /* LIBVDPASTATE_LIBVDPASTATE_H */
