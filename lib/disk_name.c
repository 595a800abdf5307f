#include "disk_name.h"

#include <string.h>

/* A decimal number without leading zeros (except "0"), below limit. */
static const char *number(const char *p, unsigned limit, unsigned *out)
{
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	unsigned v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v >= limit)
			return NULL;
	}
	*out = v;
	return p;
}

int disk_name_scsi(const char *name, unsigned *controller, unsigned *lun)
{
	unsigned c, l;
	if (!name || strncmp(name, "scsi", 4) != 0)
		return 0;
	const char *p = number(name + 4, DISK_SCSI_CONTROLLERS, &c);
	if (!p || strncmp(p, "-lun", 4) != 0)
		return 0;
	p = number(p + 4, DISK_SCSI_LUNS, &l);
	if (!p || *p)
		return 0;
	*controller = c;
	*lun = l;
	return 1;
}

int disk_name_scsi_like(const char *name)
{
	return name && strncmp(name, "scsi", 4) == 0 && name[4] >= '0' && name[4] <= '9';
}
