/* tests/consumer.c - a program built against an installed libvdpastate. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

int main(void)
{
	if (strcmp(vdpastate_version_string(), VDPASTATE_VERSION_STRING) != 0) {
		fprintf(stderr, "runtime %s != headers %s\n",
			vdpastate_version_string(), VDPASTATE_VERSION_STRING);
		return 1;
	}
	if (strcmp(vdpastate_strerror(-EINVAL), "Invalid argument") != 0)
		return 1;
	printf("consumer: libvdpastate %s linked through pkg-config\n",
	       vdpastate_version_string());
	return 0;
}
