/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vmtest.h - shared by the programs the VM stage runs inside the
 * test kernel: result lines on stdout that tests/vm/run.sh parses, and
 * vDPA devices created through the library's own management code.
 *
 * Result lines: "VMTEST <case>/<check> PASS|FAIL <detail>", one per check.
 * A program exits 0 when every check it ran passed, 1 otherwise.
 */
#ifndef VDS_VMTEST_H
#define VDS_VMTEST_H

#include <stddef.h>
#include <stdint.h>

/* The MACs the VM cases give their devices. */
#define VMT_MAC0 { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }
#define VMT_MAC1 { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 }
#define VMT_MGMTDEV "vdpasim_net"

/* Print one result line; returns 0 for a pass, -1 for a failure. */
int vmt_result(const char *check, int failed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define vmt_pass(check, ...) vmt_result((check), 0, __VA_ARGS__)
#define vmt_fail(check, ...) vmt_result((check), 1, __VA_ARGS__)

/* Set the case name ("transport") that prefixes every check. */
void vmt_case(const char *name);

/* Failures so far (the program's exit status is vmt_exit()). */
unsigned int vmt_failures(void);
int vmt_exit(void);

/*
 * Create vDPA device name on vdpasim_net with mac, make sure vhost_vdpa
 * drives it, and write its character device ("/dev/vhost-vdpa-N") into
 * path.  0, or -1 with the reason in why.
 */
int vmt_dev_create(const char *name, const uint8_t mac[6], char *path,
		   size_t path_len, char *why, size_t why_len);

/* Delete the device; 0 or -1 with the reason in why. */
int vmt_dev_destroy(const char *name, char *why, size_t why_len);

/* Monotonic seconds. */
double vmt_now(void);

#endif
