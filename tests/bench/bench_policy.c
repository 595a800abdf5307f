/* Decision throughput and latency of the policy engine on a generated
 * 50-container policy: each round takes one container through its whole
 * life (3 device mounts, overlay, create, exec, signal, shutdown, overlay
 * and device unmounts: 11 decisions, all allowed and committed). Prints one
 * JSON object. Built and run by tests/bench/bench_policy.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "policy.h"

#define CONTAINERS 50
#define ROUNDS 400

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hash_of(int c, int l, char out[65])
{
	for (int i = 0; i < 64; i++)
		out[i] = "0123456789abcdef"[(c * 7 + l * 3 + i) % 16];
	snprintf(out, 65, "%02x%02x", c, l);
	out[4] = 'a';
	for (int i = 5; i < 64; i++)
		out[i] = "0123456789abcdef"[(c + l + i) % 16];
	out[64] = '\0';
}

static char *make_policy(void)
{
	struct json_writer w;
	char h[65], buf[64];
	json_writer_init(&w, 0);
	json_w_obj(&w);
	json_w_key(&w, "version");
	json_w_cstr(&w, "1");
	json_w_key(&w, "containers");
	json_w_arr(&w);
	for (int c = 0; c < CONTAINERS; c++) {
		json_w_obj(&w);
		json_w_key(&w, "layers");
		json_w_arr(&w);
		for (int l = 0; l < 3; l++) {
			hash_of(c, l, h);
			json_w_cstr(&w, h);
		}
		json_w_end(&w);
		json_w_key(&w, "argv");
		json_w_arr(&w);
		snprintf(buf, sizeof buf, "/bin/app%d", c);
		json_w_cstr(&w, buf);
		json_w_cstr(&w, "--serve");
		json_w_end(&w);
		json_w_key(&w, "env");
		json_w_arr(&w);
		const char *rules[][2] = {{"PATH=/usr/bin:/bin", "string"},
					  {"PORT=[0-9]{1,5}", "regex"},
					  {"HOSTNAME=.+", "regex"},
					  {"LANG=C.UTF-8", "string"}};
		for (int r = 0; r < 4; r++) {
			json_w_obj(&w);
			json_w_key(&w, "rule");
			json_w_cstr(&w, rules[r][0]);
			json_w_key(&w, "strategy");
			json_w_cstr(&w, rules[r][1]);
			json_w_end(&w);
		}
		json_w_end(&w);
		json_w_key(&w, "working_dir");
		json_w_cstr(&w, "/app");
		json_w_key(&w, "user");
		json_w_obj(&w);
		json_w_key(&w, "uid");
		json_w_int(&w, 1000);
		json_w_key(&w, "gid");
		json_w_int(&w, 1000);
		json_w_key(&w, "umask");
		json_w_cstr(&w, "0022");
		json_w_end(&w);
		json_w_key(&w, "capabilities");
		json_w_obj(&w);
		const char *sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
		for (int s = 0; s < 5; s++) {
			json_w_key(&w, sets[s]);
			json_w_arr(&w);
			if (s != 2 && s != 4)
				json_w_cstr(&w, "CAP_NET_BIND_SERVICE");
			json_w_end(&w);
		}
		json_w_end(&w);
		json_w_key(&w, "signals");
		json_w_arr(&w);
		json_w_int(&w, 15);
		json_w_end(&w);
		json_w_key(&w, "exec_processes");
		json_w_raw(&w, "[{\"argv\":[\"/bin/sh\"],\"signals\":[9]}]", 36);
		json_w_end(&w);
	}
	json_w_end(&w);
	json_w_end(&w);
	return json_writer_finish(&w, NULL);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	char *text = make_policy();
	struct policy *pol;
	struct uvm_err err = {0, ""};
	if (!text || policy_load(text, strlen(text), &pol, &err) < 0) {
		fprintf(stderr, "bench_policy: %s\n", err.msg);
		return 1;
	}
	struct policy_state *st = policy_state_new(pol);
	static double lat[ROUNDS * 11];
	size_t n = 0;
	char req[11][1024], h[65];
	double t0 = now();
	for (int round = 0; round < ROUNDS; round++) {
		int c = round % CONTAINERS, k = 0;
		for (int l = 0; l < 3; l++) {
			hash_of(c, l, h);
			snprintf(req[k++], sizeof req[0],
				 "{\"op\":\"mount_device\",\"target\":\"/run/layers/r%dl%d\",\"device_hash\":\"%s\"}",
				 round, l, h);
		}
		snprintf(req[k++], sizeof req[0],
			 "{\"op\":\"mount_overlay\",\"container_id\":\"c%d\",\"target\":\"/run/containers/c%d/rootfs\","
			 "\"layers\":[\"/run/layers/r%dl0\",\"/run/layers/r%dl1\",\"/run/layers/r%dl2\"]}",
			 round, round, round, round, round);
		snprintf(req[k++], sizeof req[0],
			 "{\"op\":\"create_container\",\"container_id\":\"c%d\",\"argv\":[\"/bin/app%d\",\"--serve\"],"
			 "\"env\":[\"PATH=/usr/bin:/bin\",\"PORT=8080\",\"HOSTNAME=h%d\"],\"working_dir\":\"/app\","
			 "\"user\":{\"uid\":1000,\"gid\":1000,\"umask\":\"0022\"},\"capabilities\":{\"bounding\":"
			 "[\"CAP_NET_BIND_SERVICE\"],\"effective\":[\"CAP_NET_BIND_SERVICE\"],\"inheritable\":[],"
			 "\"permitted\":[\"CAP_NET_BIND_SERVICE\"],\"ambient\":[]}}",
			 round, c, round);
		snprintf(req[k++], sizeof req[0],
			 "{\"op\":\"exec_in_container\",\"container_id\":\"c%d\",\"process_id\":\"p\",\"argv\":[\"/bin/"
			 "sh\"],"
			 "\"env\":[\"PORT=1\"],\"working_dir\":\"/app\"}",
			 round);
		snprintf(req[k++], sizeof req[0], "{\"op\":\"signal_process\",\"container_id\":\"c%d\",\"signal\":15}",
			 round);
		snprintf(req[k++], sizeof req[0], "{\"op\":\"shutdown_container\",\"container_id\":\"c%d\"}", round);
		snprintf(req[k++], sizeof req[0],
			 "{\"op\":\"unmount_overlay\",\"target\":\"/run/containers/c%d/rootfs\"}", round);
		for (int l = 0; l < 2; l++)
			snprintf(req[k++], sizeof req[0],
				 "{\"op\":\"unmount_device\",\"target\":\"/run/layers/r%dl%d\"}", round, l);
		for (int i = 0; i < k; i++) {
			struct policy_decision d;
			double s = now();
			if (policy_decide_json(st, req[i], strlen(req[i]), &d) < 0 || !d.allowed) {
				fprintf(stderr, "bench_policy: unexpected denial: %s\n", d.reason ? d.reason : "");
				return 1;
			}
			policy_commit(st);
			lat[n++] = now() - s;
			policy_decision_free(&d);
		}
	}
	double total = now() - t0;
	qsort(lat, n, sizeof lat[0], cmp);
	printf("{\"name\":\"policy\",\"containers\":%d,\"decisions\":%zu,\"decisions_per_second\":%.0f,"
	       "\"median_latency_us\":%.2f,\"p99_latency_us\":%.2f}\n",
	       CONTAINERS, n, (double)n / total, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6);
	policy_state_free(st);
	policy_free(pol);
	free(text);
	return 0;
}
