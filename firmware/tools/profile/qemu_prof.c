/*
 * A QEMU TCG plugin (plugin API v1, QEMU 7.2) that counts how often each
 * guest instruction below 4 MiB executes and writes "ADDRESS COUNT" lines
 * (hex, decimal) to out=FILE (default /tmp/qemu_prof.txt) when QEMU exits
 * normally (SIGTERM or semihosting exit, not SIGKILL).
 *
 * Build: gcc -shared -fPIC -O2 -o libqemu_prof.so qemu_prof.c
 * The few declarations of qemu-plugin.h it needs are repeated here, since
 * Debian ships QEMU without the header. See README.md beside this file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb; struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *), void *userdata);
#define N (1u<<21)
static uint64_t counts[N];
static const char *out = "/tmp/qemu_prof.txt";
static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t a = qemu_plugin_insn_vaddr(insn);
    if (a < 2ull*N) qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counts[a/2], 1);
  }
}
static void atexit_cb(qemu_plugin_id_t id, void *p) {
  FILE *f = fopen(out, "w");
  for (uint32_t i = 0; i < N; i++) if (counts[i]) fprintf(f, "%x %llu\n", i*2, (unsigned long long)counts[i]);
  fclose(f);
}
__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  if (argc > 0 && strncmp(argv[0], "out=", 4) == 0) out = argv[0] + 4;
  qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
  qemu_plugin_register_atexit_cb(id, atexit_cb, NULL);
  return 0;
}
