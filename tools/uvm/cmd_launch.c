/* uvm launch: start the UVM in QEMU.
 *
 * Default: the test flavour (out/image-test) under TCG with direct kernel
 * boot; the simulated PSP inside it learns HOST_DATA and the launch
 * measurement from fw_cfg (opt/uvm/host_data, opt/uvm/measurement), the
 * values a real PSP would take from the SNP launch. --snp: the production
 * image as a real SEV-SNP launch (KVM, sev-snp-guest with kernel-hashes=on
 * and host-data, OVMF.amdsev.fd, vsock for the agent). --id-block/--id-auth
 * (from `uvm idblock`, checked here first) add the ID block to the launch.
 * --igvm FILE: never runs anything; prints the QEMU >= 10.1 command line that
 * loads the IGVM file (`uvm igvm`) as an SEV-SNP guest and the Hyper-V steps
 * (igvm/igvm_launch.h, docs/hyperv.md).
 *
 * The serial console is QEMU's stdout; the agent channel is a unix socket
 * (virtio-serial port "uvm.agent") for TCG, vsock (guest port 1024) for SNP.
 * Exit status: QEMU's (the process is replaced by QEMU), or 1 invalid input,
 * 2 usage, 3 QEMU could not be started; with --igvm 0 printed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "disk_name.h"
#include "file_util.h"
#include "hash.h"
#include "hex.h"
#include "idblock.h"
#include "igvm_launch.h"
#include "json.h"

#define MAX_ARGS 96

/* The guest policy of an SNP launch: SMT allowed, bit 17 (must be one). */
#define SNP_LAUNCH_POLICY 0x30000ull

struct launch_opts {
	const char *image;
	const char *policy;
	const char *host_data_hex;
	const char *socket;
	const char *cpu;
	const char *append;
	const char *id_block, *id_auth; /* files from `uvm idblock` */
	const char *igvm;               /* file from `uvm igvm`: print, never run */
	int socket_set, vcpus_set, memory_set;
	unsigned vcpus;
	unsigned memory_mb;
	unsigned cid;
	int snp, dry_run;
	const char *disks[8]; /* NAME=PATH[:ro] */
	int ndisks;
};

struct argv_buf {
	char *v[MAX_ARGS + 1];
	int n;
	char store[32][4096]; /* formatted arguments */
	int nstore;
};

static const char HELP[] = "usage: uvm launch [--image DIR] [--policy FILE | --host-data HEX] [--socket PATH]\n"
			   "                  [--vcpus N] [--memory MB] [--cpu TYPE] [--append STR] [--snp [--cid N]]\n"
			   "                  [--disk NAME=PATH[:ro]]... [--id-block FILE --id-auth FILE] [--dry-run]\n"
			   "       uvm launch --igvm FILE [--snp] [--policy FILE | --host-data HEX] [--cpu TYPE]\n"
			   "                  [--cid N] [--disk NAME=PATH[:ro]]...\n"
			   "Starts the UVM in QEMU. Default: the test flavour (out/image-test) under TCG with\n"
			   "direct kernel boot, agent channel on the unix socket --socket (default uvm-agent.sock),\n"
			   "serial console on stdout. HOST_DATA is SHA-256 of --policy (or --host-data, for\n"
			   "negative tests); the test flavour's simulated PSP receives it and the predicted launch\n"
			   "measurement through fw_cfg. --snp: production image (out/image) as a real SEV-SNP\n"
			   "launch (KVM, OVMF.amdsev.fd, kernel-hashes=on, host-data, vsock guest port 1024).\n"
			   "--disk attaches PATH as a virtio-blk disk whose serial is NAME (the guest finds it\n"
			   "as /sys/block/vdX/serial; read-only with :ro). At most 8. A NAME scsi<C>-lun<L>\n"
			   "(C 0..3, L 0..63) attaches it as a SCSI disk at that controller and LUN instead\n"
			   "(virtio-scsi here, storvsc on Hyper-V), which the guest finds by that address.\n"
			   "--id-block/--id-auth (with --snp): the ID block and ID auth info written by\n"
			   "`uvm idblock`; they are checked (sizes, reserved bytes, both signatures, POLICY\n"
			   "equal to the launch policy 0x30000) and passed to sev-snp-guest as id-block and\n"
			   "id-auth (base64), with author-key-enabled=on when they carry an author key.\n"
			   "--dry-run prints the QEMU command line instead of running it.\n"
			   "--igvm FILE (from `uvm igvm`, checked and measured here) runs nothing: it prints\n"
			   "the production QEMU >= 10.1 command line (-object igvm-cfg, sev-snp-guest with\n"
			   "host-data and the file's policy; QEMU 7.2 here cannot load IGVM files), -m and\n"
			   "-smp from the file, then, as shell comments, the Hyper-V steps (the file packaged\n"
			   "into a VMGS as hcsshim's SNP path boots it) and the launch measurement expected\n"
			   "under each (uvm measure --igvm FILE --vmm-type qemu|hyperv). --image, --append,\n"
			   "--socket, --vcpus, --memory, --id-block and --id-auth do not apply to it.\n"
			   "Exit status: QEMU's, or 1 invalid input, 2 usage, 3 QEMU could not be started;\n"
			   "with --igvm: 0 printed, 1 invalid input (an IGVM file unreadable, malformed or not\n"
			   "replayable, a policy file unreadable, a disk inaccessible), 2 usage.\n";

static void add(struct argv_buf *a, const char *s)
{
	if (a->n < MAX_ARGS)
		a->v[a->n++] = (char *)s;
}

static void addf(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct argv_buf *a, const char *fmt, ...)
{
	if (a->nstore == 32)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->store[a->nstore], sizeof a->store[0], fmt, ap);
	va_end(ap);
	add(a, a->store[a->nstore++]);
}

enum {
	O_IMAGE = 256,
	O_POLICY,
	O_HOST_DATA,
	O_SOCKET,
	O_CPU,
	O_APPEND,
	O_DISK,
	O_VCPUS,
	O_MEMORY,
	O_CID,
	O_SNP,
	O_DRY_RUN,
	O_ID_BLOCK,
	O_ID_AUTH,
	O_IGVM,
};

static const struct option OPTS[] = {
	{"image", required_argument, NULL, O_IMAGE},
	{"policy", required_argument, NULL, O_POLICY},
	{"host-data", required_argument, NULL, O_HOST_DATA},
	{"socket", required_argument, NULL, O_SOCKET},
	{"cpu", required_argument, NULL, O_CPU},
	{"append", required_argument, NULL, O_APPEND},
	{"disk", required_argument, NULL, O_DISK},
	{"vcpus", required_argument, NULL, O_VCPUS},
	{"memory", required_argument, NULL, O_MEMORY},
	{"cid", required_argument, NULL, O_CID},
	{"snp", no_argument, NULL, O_SNP},
	{"dry-run", no_argument, NULL, O_DRY_RUN},
	{"id-block", required_argument, NULL, O_ID_BLOCK},
	{"id-auth", required_argument, NULL, O_ID_AUTH},
	{"igvm", required_argument, NULL, O_IGVM},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

/* A number option: 1..max. */
static int number(struct cli *cl, uint64_t max, unsigned *out)
{
	uint64_t v;
	if (cli_uint(cl, 10, 1, max, &v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The IGVM file holds the kernel, initrd, command line, memory and vCPUs:
 * the options that set them are refused by name. 0, or -1 (message printed). */
static int igvm_conflicts(struct cli *cl, const struct launch_opts *o)
{
	const struct {
		const char *name;
		int given;
		const char *why;
	} other[] = {
		{"--image", o->image != NULL, "the IGVM file holds the kernel and initrd"},
		{"--append", o->append != NULL, "the IGVM file holds the command line"},
		{"--socket", o->socket_set, "an SNP guest's agent channel is vsock (--cid)"},
		{"--vcpus", o->vcpus_set, "the IGVM file's VP contexts decide the vCPUs"},
		{"--memory", o->memory_set, "the IGVM file lays out the memory (uvm igvm --memory)"},
		{"--id-block", o->id_block != NULL, "an ID block for an IGVM launch goes into the file"},
		{"--id-auth", o->id_auth != NULL, "an ID block for an IGVM launch goes into the file"},
	};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		if (other[i].given)
			return cli_fail(cl, "--igvm and %s conflict: %s; drop %s", other[i].name, other[i].why,
					other[i].name);
	return 0;
}

/* 0, or CLI_EXIT (help or a usage error printed; cl->status says which). */
static int parse_args(struct cli *cl, struct launch_opts *o)
{
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		int bad = 0;
		switch (c) {
		case CLI_EXIT: return CLI_EXIT;
		case O_IMAGE: o->image = cl->arg; break;
		case O_POLICY: o->policy = cl->arg; break;
		case O_HOST_DATA: o->host_data_hex = cl->arg; break;
		case O_SOCKET:
			o->socket = cl->arg;
			o->socket_set = 1;
			break;
		case O_CPU: o->cpu = cl->arg; break;
		case O_APPEND: o->append = cl->arg; break;
		case O_DISK:
			if (o->ndisks == 8)
				bad = cli_fail(cl, "at most 8 --disk");
			else
				o->disks[o->ndisks++] = cl->arg;
			break;
		case O_VCPUS:
			bad = number(cl, 64, &o->vcpus);
			o->vcpus_set = 1;
			break;
		case O_MEMORY:
			bad = number(cl, 65536, &o->memory_mb);
			o->memory_set = 1;
			break;
		case O_CID: bad = number(cl, 0xfffffffe, &o->cid); break;
		case O_SNP: o->snp = 1; break;
		case O_DRY_RUN: o->dry_run = 1; break;
		case O_ID_BLOCK: bad = cli_once(cl, &o->id_block); break;
		case O_ID_AUTH: bad = cli_once(cl, &o->id_auth); break;
		case O_IGVM: bad = cli_once(cl, &o->igvm); break;
		default: bad = cli_unexpected(cl); break; /* an operand */
		}
		if (bad)
			return CLI_EXIT;
	}
	if (o->policy && o->host_data_hex) {
		cli_fail(cl, "give --policy or --host-data, not both");
		return CLI_EXIT;
	}
	if (o->igvm && igvm_conflicts(cl, o))
		return CLI_EXIT;
	if (!o->id_block != !o->id_auth) {
		cli_fail(cl, "give --id-block and --id-auth together (both from `uvm idblock`)");
		return CLI_EXIT;
	}
	if (o->id_block && !o->snp) {
		cli_fail(cl, "--id-block and --id-auth need --snp (only an SNP launch takes an ID block)");
		return CLI_EXIT;
	}
	return 0;
}

/* HOST_DATA as 64 hex digits: SHA-256 of the policy file, or --host-data. */
static int host_data(const struct launch_opts *o, char hex[65])
{
	uint8_t raw[32];
	if (o->host_data_hex) {
		if (uvm_hex_decode(o->host_data_hex, raw, 32)) {
			fprintf(stderr, "uvm launch: --host-data must be 64 hex digits (32 bytes)\n");
			return -1;
		}
	} else if (o->policy) {
		struct file_buf b;
		struct uvm_err err = {0};
		if (file_read_all(o->policy, 1u << 20, &b, &err)) {
			fprintf(stderr, "uvm launch: --policy: %s\n", err.msg);
			return -1;
		}
		uvm_sha256(b.data, b.len, raw);
		file_buf_free(&b);
	} else {
		memset(raw, 0, sizeof raw); /* no policy: HOST_DATA zero, nothing can bind */
	}
	uvm_hex_encode(raw, 32, hex);
	return 0;
}

/* The kernel command line the image was built for (manifest.json). */
static int image_cmdline(const char *image, char *out, size_t size)
{
	char path[4096];
	struct file_buf b;
	struct uvm_err err = {0};
	struct json_doc *doc = NULL;
	snprintf(path, sizeof path, "%s/manifest.json", image);
	if (file_read_all(path, 1u << 20, &b, &err)) {
		fprintf(stderr, "uvm launch: %s (build the image with `make`)\n", err.msg);
		return -1;
	}
	const struct json_value *root = json_parse(b.data, b.len, b.len, &doc, &err);
	size_t len = 0;
	const char *cmdline = root ? json_str(json_get(root, "kernel_cmdline"), &len) : NULL;
	int rc = 0;
	if (!cmdline || len >= size) {
		fprintf(stderr, "uvm launch: %s has no usable kernel_cmdline%s%s\n", path, root ? "" : ": ",
			root ? "" : err.msg);
		rc = -1;
	} else {
		memcpy(out, cmdline, len + 1);
	}
	json_free(doc);
	file_buf_free(&b);
	return rc;
}

/* The launch measurement the PSP would compute, from `uvm measure` (run as a
 * child of this same binary, so the algorithm exists once). */
static int predicted_measurement(const struct launch_opts *o, const char *append, const char *cpu, char hex[97])
{
	char ovmf[4096], kernel[4096], initrd[4096], vcpus[16];
	snprintf(ovmf, sizeof ovmf, "%s/OVMF.amdsev.fd", o->image);
	snprintf(kernel, sizeof kernel, "%s/bzImage", o->image);
	snprintf(initrd, sizeof initrd, "%s/initrd", o->image);
	snprintf(vcpus, sizeof vcpus, "%u", o->vcpus);
	int pipefd[2];
	if (pipe(pipefd))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		execl("/proc/self/exe", "uvm", "measure", "--mode", "snp", "--vcpus", vcpus, "--vcpu-type", cpu,
		      "--ovmf", ovmf, "--kernel", kernel, "--initrd", initrd, "--append", append, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char buf[256] = {0};
	size_t got = 0;
	ssize_t n;
	while (got < sizeof buf - 1 && (n = read(pipefd[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	close(pipefd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got < 96) {
		fprintf(stderr, "uvm launch: predicting the measurement with `uvm measure` failed\n");
		return -1;
	}
	memcpy(hex, buf, 96);
	hex[96] = '\0';
	return 0;
}

/* Every SCSI controller up to the highest one a --disk names, in index
 * order: QEMU gives them ascending PCI slots, and the guest numbers
 * virtio-scsi controllers by PCI address (agent/blockdev_scsi.c), so
 * controller C here is controller C there even if a lower one has no disk. */
static void add_scsi_controllers(struct argv_buf *a, const struct launch_opts *o)
{
	int highest = -1;
	for (int i = 0; i < o->ndisks; i++) {
		unsigned c, l;
		char name[32];
		snprintf(name, sizeof name, "%.*s", (int)strcspn(o->disks[i], "="), o->disks[i]);
		if (disk_name_scsi(name, &c, &l) && (int)c > highest)
			highest = (int)c;
	}
	for (int c = 0; c <= highest; c++) {
		add(a, "-device");
		addf(a, "virtio-scsi-pci,id=scsi%d", c);
	}
}

/* NAME=PATH[:ro] -> a raw drive: for scsi<C>-lun<L> a SCSI disk at that
 * controller and LUN, else a virtio-blk disk with serial NAME. */
static int add_disks(struct argv_buf *a, const struct launch_opts *o)
{
	add_scsi_controllers(a, o);
	for (int i = 0; i < o->ndisks; i++) {
		char spec[4096];
		snprintf(spec, sizeof spec, "%s", o->disks[i]);
		char *eq = strchr(spec, '=');
		size_t len = strlen(spec);
		int ro = len > 3 && strcmp(spec + len - 3, ":ro") == 0;
		if (ro)
			spec[len - 3] = '\0';
		if (!eq || eq == spec || eq - spec > 20 || !eq[1] || strpbrk(spec, ",") ||
		    strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789-_") != (size_t)(eq - spec)) {
			fprintf(stderr,
				"uvm launch: --disk '%s' must be NAME=PATH[:ro] (NAME: a-z0-9-_, up to 20; no "
				"commas)\n",
				o->disks[i]);
			return -1;
		}
		*eq = '\0';
		unsigned controller, lun;
		int scsi = disk_name_scsi(spec, &controller, &lun);
		if (!scsi && disk_name_scsi_like(spec)) {
			fprintf(stderr,
				"uvm launch: --disk %s: a SCSI disk is named scsi<C>-lun<L> (controller 0..%d, LUN "
				"0..%d, no leading zeros)\n",
				spec, DISK_SCSI_CONTROLLERS - 1, DISK_SCSI_LUNS - 1);
			return -1;
		}
		/* Two virtio disks may share a serial (the guest refuses to pick
		 * one); one SCSI address cannot hold two disks. */
		for (int j = 0; scsi && j < i; j++)
			if (strncmp(o->disks[j], spec, strlen(spec)) == 0 && o->disks[j][strlen(spec)] == '=') {
				fprintf(stderr, "uvm launch: --disk %s: that SCSI address is given twice\n", spec);
				return -1;
			}
		if (access(eq + 1, ro ? R_OK : R_OK | W_OK) != 0) {
			fprintf(stderr, "uvm launch: --disk %s: cannot access %s: %s\n", spec, eq + 1, strerror(errno));
			return -1;
		}
		add(a, "-drive");
		addf(a, "file=%s,if=none,id=disk%d,format=raw%s", eq + 1, i, ro ? ",readonly=on" : "");
		add(a, "-device");
		if (scsi)
			addf(a, "scsi-hd,bus=scsi%u.0,channel=0,scsi-id=0,lun=%u,drive=disk%d", controller, lun, i);
		else
			addf(a, "virtio-blk-pci,drive=disk%d,serial=%s", i, spec);
	}
	return 0;
}

static void common_args(struct argv_buf *a, const struct launch_opts *o, const char *append)
{
	add(a, "qemu-system-x86_64");
	add(a, "-nodefaults");
	add(a, "-no-reboot");
	add(a, "-display");
	add(a, "none");
	add(a, "-monitor");
	add(a, "none");
	add(a, "-serial");
	add(a, "stdio");
	add(a, "-m");
	addf(a, "%u", o->memory_mb);
	add(a, "-smp");
	addf(a, "%u", o->vcpus);
	add(a, "-kernel");
	addf(a, "%s/bzImage", o->image);
	add(a, "-initrd");
	addf(a, "%s/initrd", o->image);
	add(a, "-append");
	add(a, append);
}

static int build_tcg(struct argv_buf *a, const struct launch_opts *o, const char *append, const char *hd)
{
	static char measurement[97], fw_hd[128], fw_ms[160], chardev[4200];
	if (predicted_measurement(o, append, o->cpu ? o->cpu : "EPYC-v4", measurement))
		return -1;
	common_args(a, o, append);
	add(a, "-accel");
	add(a, "tcg");
	add(a, "-machine");
	add(a, "q35");
	add(a, "-cpu");
	add(a, "max");
	add(a, "-device");
	add(a, "virtio-serial-pci");
	snprintf(chardev, sizeof chardev, "socket,id=agent,path=%s,server=on,wait=off", o->socket);
	add(a, "-chardev");
	add(a, chardev);
	add(a, "-device");
	add(a, "virtserialport,chardev=agent,name=uvm.agent");
	if (add_disks(a, o))
		return -1;
	snprintf(fw_hd, sizeof fw_hd, "name=opt/uvm/host_data,string=%s", hd);
	snprintf(fw_ms, sizeof fw_ms, "name=opt/uvm/measurement,string=%s", measurement);
	add(a, "-fw_cfg");
	add(a, fw_hd);
	add(a, "-fw_cfg");
	add(a, fw_ms);
	return 0;
}

/* ",id-block=B64,id-auth=B64[,author-key-enabled=on]" for sev-snp-guest
 * (QEMU's property names), after the checks SNP_LAUNCH_FINISH would make
 * and that the policy is the one this launch uses. */
static int id_block_props(const struct launch_opts *o, char *out, size_t size)
{
	struct file_buf block = {0}, auth = {0};
	struct uvm_err err = {0};
	struct idblock_info info;
	int rc = -1;
	out[0] = '\0';
	if (!o->id_block)
		return 0;
	if (file_read_all(o->id_block, IDBLOCK_SIZE, &block, &err) ||
	    file_read_all(o->id_auth, IDAUTH_SIZE, &auth, &err)) {
		fprintf(stderr, "uvm launch: --id-block/--id-auth: %s (write them with `uvm idblock`)\n", err.msg);
		goto out;
	}
	if (idblock_check((const uint8_t *)block.data, block.len, (const uint8_t *)auth.data, auth.len, &info, &err)) {
		fprintf(stderr, "uvm launch: --id-block %s / --id-auth %s: %s (rebuild them with `uvm idblock`)\n",
			o->id_block, o->id_auth, err.msg);
		goto out;
	}
	if (info.params.policy != SNP_LAUNCH_POLICY) {
		fprintf(stderr,
			"uvm launch: --id-block %s: its POLICY 0x%llx is not the launch policy 0x%llx; the firmware "
			"would refuse it (rebuild with `uvm idblock --policy 0x%llx`)\n",
			o->id_block, (unsigned long long)info.params.policy, SNP_LAUNCH_POLICY, SNP_LAUNCH_POLICY);
		goto out;
	}
	char b64_block[4 * ((IDBLOCK_SIZE + 2) / 3) + 1], b64_auth[4 * ((IDAUTH_SIZE + 2) / 3) + 1];
	uvm_base64_encode((const uint8_t *)block.data, IDBLOCK_SIZE, b64_block);
	uvm_base64_encode((const uint8_t *)auth.data, IDAUTH_SIZE, b64_auth);
	snprintf(out, size, ",id-block=%s,id-auth=%s%s", b64_block, b64_auth,
		 info.author_key_en ? ",author-key-enabled=on" : "");
	rc = 0;
out:
	file_buf_free(&block);
	file_buf_free(&auth);
	return rc;
}

static int build_snp(struct argv_buf *a, const struct launch_opts *o, const char *append, const char *hd)
{
	static char object[8192], id_props[7000], vsock[64], bios[4200];
	uint8_t raw[32];
	char b64[64];
	uvm_hex_decode(hd, raw, 32);
	uvm_base64_encode(raw, 32, b64);
	if (id_block_props(o, id_props, sizeof id_props))
		return -1;
	common_args(a, o, append);
	add(a, "-enable-kvm");
	add(a, "-machine");
	add(a, "q35,confidential-guest-support=sev0");
	add(a, "-cpu");
	add(a, o->cpu ? o->cpu : "EPYC-v4");
	snprintf(object, sizeof object,
		 "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x%llx,kernel-hashes=on,host-data=%s%s",
		 SNP_LAUNCH_POLICY, b64, id_props);
	add(a, "-object");
	add(a, object);
	snprintf(bios, sizeof bios, "%s/OVMF.amdsev.fd", o->image);
	add(a, "-bios");
	add(a, bios);
	snprintf(vsock, sizeof vsock, "vhost-vsock-pci,guest-cid=%u", o->cid);
	add(a, "-device");
	add(a, vsock);
	return add_disks(a, o);
}

/* Single-quotes an argument for the shell when it needs it. */
static void print_quoted(const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:@+") == strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	putchar('\'');
}

static void print_argv(const struct argv_buf *a)
{
	for (int i = 0; i < a->n; i++) {
		if (i)
			putchar(' ');
		print_quoted(a->v[i]);
	}
	putchar('\n');
}

/* --igvm: the QEMU >= 10.1 command line and the Hyper-V steps, printed. */
static int launch_igvm(const struct launch_opts *o, const char *hd)
{
	static char object[512], igvm_cfg[4200], vsock[64];
	struct igvm_launch_info info;
	struct uvm_err err = {0};
	struct argv_buf a = {.n = 0};
	char b64[64], ld[2 * SNP_LD_LEN + 1];
	uint8_t raw[32];
	if (strchr(o->igvm, ',')) {
		fprintf(stderr,
			"uvm launch: --igvm %s: a path with a comma cannot be a QEMU property value; "
			"rename the file\n",
			o->igvm);
		return 1;
	}
	if (igvm_launch_info(o->igvm, &info, &err)) {
		fprintf(stderr, "uvm launch: --igvm %s: %s (write it with `uvm igvm`)\n", o->igvm, err.msg);
		return 1;
	}
	uvm_hex_decode(hd, raw, 32);
	uvm_base64_encode(raw, 32, b64);
	add(&a, "qemu-system-x86_64");
	add(&a, "-nodefaults");
	add(&a, "-no-reboot");
	add(&a, "-display");
	add(&a, "none");
	add(&a, "-monitor");
	add(&a, "none");
	add(&a, "-serial");
	add(&a, "stdio");
	add(&a, "-m");
	addf(&a, "%u", info.memory_mb);
	add(&a, "-smp");
	addf(&a, "%u", info.vcpus);
	add(&a, "-enable-kvm");
	add(&a, "-cpu");
	add(&a, o->cpu ? o->cpu : "EPYC-v4");
	add(&a, "-machine");
	add(&a, "q35,confidential-guest-support=sev0,igvm-cfg=igvm0");
	snprintf(igvm_cfg, sizeof igvm_cfg, "igvm-cfg,id=igvm0,file=%s", o->igvm);
	add(&a, "-object");
	add(&a, igvm_cfg);
	snprintf(object, sizeof object,
		 "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x%llx,host-data=%s",
		 (unsigned long long)info.policy, b64);
	add(&a, "-object");
	add(&a, object);
	snprintf(vsock, sizeof vsock, "vhost-vsock-pci,guest-cid=%u", o->cid);
	add(&a, "-device");
	add(&a, vsock);
	if (add_disks(&a, o))
		return 1;
	a.v[a.n] = NULL;
	uvm_hex_encode(info.ld_qemu, SNP_LD_LEN, ld);
	printf("# uvm launch --igvm prints, never runs: QEMU >= 10.1 loads IGVM files (-object igvm-cfg);\n"
	       "# the QEMU 7.2 of this host cannot. On an SEV-SNP host with KVM:\n"
	       "# expected MEASUREMENT (uvm measure --igvm %s --vmm-type qemu --vcpus %u):\n"
	       "#   %s\n",
	       o->igvm, info.vcpus, ld);
	print_argv(&a);
	igvm_launch_print_hyperv(stdout, o->igvm, &info, b64);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int run(int argc, char **argv)
{
	struct launch_opts o = {.socket = "uvm-agent.sock", .vcpus = 1, .memory_mb = 512, .cid = 3};
	struct cli cl;
	cli_init(&cl, "uvm launch", HELP, "", OPTS, argc, argv);
	if (parse_args(&cl, &o) == CLI_EXIT)
		return cl.status;
	if (o.igvm) {
		char hd_igvm[65];
		return host_data(&o, hd_igvm) ? 1 : launch_igvm(&o, hd_igvm);
	}
	if (!o.image)
		o.image = o.snp ? "out/image" : "out/image-test";
	char append[2048], hd[65];
	if (o.append)
		snprintf(append, sizeof append, "%s", o.append);
	else if (image_cmdline(o.image, append, sizeof append))
		return 1;
	if (host_data(&o, hd))
		return 1;
	struct argv_buf a = {.n = 0};
	if (o.snp ? build_snp(&a, &o, append, hd) : build_tcg(&a, &o, append, hd))
		return 1;
	a.v[a.n] = NULL;
	if (o.dry_run) {
		print_argv(&a);
		return 0;
	}
	fflush(NULL);
	execvp(a.v[0], a.v);
	fprintf(stderr, "uvm launch: cannot run %s: %s (install qemu-system-x86: make deps)\n", a.v[0],
		strerror(errno));
	return 3;
}

const struct uvm_command uvm_command_launch = {"launch", "start the UVM in QEMU (TCG test flavour, or --snp)", run};
