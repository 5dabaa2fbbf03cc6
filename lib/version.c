/* SPDX-License-Identifier: MIT */
/*
 * lib/version.c - the version of the library a program runs with (the
 * macros in version.h give the one it was compiled against).
 */
#include "config.h"

#include <libvdpastate/version.h>

VDPASTATE_API unsigned int vdpastate_version_major(void)
{
	return VDPASTATE_VERSION_MAJOR;
}

VDPASTATE_API unsigned int vdpastate_version_minor(void)
{
	return VDPASTATE_VERSION_MINOR;
}

VDPASTATE_API unsigned int vdpastate_version_patch(void)
{
	return VDPASTATE_VERSION_PATCH;
}

VDPASTATE_API const char *vdpastate_version_string(void)
{
	return VDPASTATE_VERSION_STRING;
}
