/* Differential-test generator: writes a static riscv64 ELF executable that
 * runs many random cases of RV64GC + Zba/Zbb/Zbs instructions and writes
 * each case's final architectural state to stdout (see diff.h).
 *
 * A host program (built by tests/diff/run.sh with the host cc), so it must
 * be deterministic on any host: only integer arithmetic, one seeded PRNG per
 * case (seeded from the run's seed and the case's global index, so any case
 * can be regenerated alone).
 *
 * Program layout:
 *   load_state:  f0-f31, fcsr, x3-x31 from the record at sp; returns via ra
 *   save_state:  x2-x31, f0-f31, fcsr into the record at sp, write() it,
 *                count down the cases left and exit at zero; returns via ra
 *   case_N:      sp = record N; call load_state; ld ra; random items;
 *                sd ra; call save_state        (falls through to case N+1)
 *
 * A case is a list of "items": one instruction, or a short macro such as
 * "set a base register, then load".  Control flow only jumps forward over
 * whole items, so every case terminates and no macro is entered halfway.
 * Encodings follow the RISC-V unprivileged spec 20191213 (ch. 2, 5, 7-9,
 * 16 for C) and the bitmanip spec 1.0.0 for Zba/Zbb/Zbs. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diff.h"

#define TEXT_VADDR   0x10000ull /* first PT_LOAD maps the file from offset 0 here */
#define TEXT_OFFSET  0x1000u	/* file offset of the code */
#define PAGE	     0x1000u
#define DATA_RECORDS 64u /* records start this far into the data segment */

#define SP 2
#define RA 1

/* ---- deterministic PRNG (splitmix64 seeding xoshiro256**) ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t index)
{
	uint64_t x = seed ^ (index * 0xd1342543de82ef95ull);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t v, int k)
{
	return (v << k) | (v >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n > 0.  The modulo bias is irrelevant here. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

static int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo + 1));
}

static bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

/* Every draw must be sequenced (one per statement, or across ?: / &&):
 * the order of evaluation of function arguments differs between compilers. */
#define PICK(r, array) ((array)[rng_below((r), sizeof(array) / sizeof((array)[0]))])

/* ---- instruction forms ---- */

/* Where the register fields sit (the immediate is placed by its kind). */
enum layout {
	L_R,
	L_R4,
	L_I,
	L_S,
	L_B,
	L_U,
	L_J, /* 32-bit */
	L_CR,
	L_CI,
	L_CSS,
	L_CIW,
	L_CL,
	L_CS,
	L_CA,
	L_CB,
	L_CJ, /* 16-bit */
};

/* Operand classes: which registers a field may name. */
enum opnd {
	O_NONE,
	O_X,   /* any x register as a source */
	O_XN,  /* source, not x0 */
	O_XD,  /* destination: anything but sp (x0 allowed) */
	O_XDN, /* destination: neither x0 nor sp */
	O_XC,  /* x8-x15 (compressed 3-bit field), source or destination */
	O_F,   /* any f register */
	O_FC,  /* f8-f15 */
	O_SP,  /* the field holds sp (or sp is the implied base) */
	O_U5,  /* 5-bit CSR immediate in the rs1 field */
};

enum immk {
	I_NONE,
	I_I12,
	I_S12,
	I_B13,
	I_U20,
	I_J21,
	I_SH6,
	I_SH5,
	I_FENCE,
	I_C_S6,
	I_C_NZS6,
	I_C_SH6,
	I_C_LUI,
	I_C_SP16,
	I_C_4SPN,
	I_C_LW,
	I_C_LD,
	I_C_LWSP,
	I_C_LDSP,
	I_C_SWSP,
	I_C_SDSP,
	I_C_B9,
	I_C_J12,
	I_COUNT
};

/* How an item is generated around the instruction. */
enum kind {
	K_OP,	/* random operands */
	K_LOAD, /* address inside the record's window, base set up first */
	K_STORE,
	K_AMO,	  /* naturally aligned, base register holds the address */
	K_LR,	  /* LR + a few ALU ops + SC (succeeds), sometimes a second SC (fails) */
	K_SC,	  /* SC with no reservation (fails) */
	K_BRANCH, /* conditional, forward over 0-3 items */
	K_JAL,	  /* jal / c.j forward */
	K_JALR,	  /* auipc (+addi) then jalr / c.jr / c.jalr forward */
	K_CSR,	  /* fflags/frm/fcsr access keeping frm valid */
	K_SPADJ,  /* moves sp within the record (never inside a branch shadow) */
};

enum group {
	G_NONE, /* only used by the harness code */
	G_I,
	G_M,
	G_A,
	G_F,
	G_D,
	G_C,
	G_ZBA,
	G_ZBB,
	G_ZBS,
	G_MEM,
	G_CTRL,
	G_CSR,
	G_COUNT
};

/* Relative weights of the groups when a case picks its next item. */
static const unsigned group_weight[G_COUNT] = {
    [G_I] = 18,	 [G_M] = 8,   [G_A] = 6,   [G_F] = 12,	 [G_D] = 12,   [G_C] = 14,
    [G_ZBA] = 4, [G_ZBB] = 7, [G_ZBS] = 4, [G_MEM] = 10, [G_CTRL] = 7, [G_CSR] = 4,
};

#define F_RM   1u /* rounding-mode field in bits 14:12 */
#define F_AQRL 2u /* aq/rl bits 26:25 */
/* qemu 7.2, the oracle, gets ctzw wrong when the low word is zero and the
 * upper one is not (it counts over 64 bits; bitmanip 1.0 says 32): zero-extend
 * the source just before, so that the case has one answer.  oracle.S tells
 * when qemu is fixed and this can go. */
#define F_QEMU_ZEXT 4u

struct form {
	const char *name; /* as riscv64-linux-gnu-objdump -M no-aliases prints it */
	uint32_t match;	  /* fixed bits */
	uint8_t layout, kind, group;
	uint8_t rd, rs1, rs2, rs3; /* enum opnd */
	uint8_t imm;		   /* enum immk */
	uint8_t flags;
	uint8_t size; /* memory access width in bytes */
};

#define FORM(n, m, lay, k, g, d, s1, s2, s3, im, fl, sz)                                           \
	{                                                                                          \
		.name = n, .match = m, .layout = lay, .kind = k, .group = g, .rd = d, .rs1 = s1,   \
		.rs2 = s2, .rs3 = s3, .imm = im, .flags = fl, .size = sz                           \
	}

/* Shapes of the common forms. */
#define XRR(n, m, g)	       FORM(n, m, L_R, K_OP, g, O_XD, O_X, O_X, O_NONE, I_NONE, 0, 0)
#define XR(n, m, g)	       FORM(n, m, L_R, K_OP, g, O_XD, O_X, O_NONE, O_NONE, I_NONE, 0, 0)
#define XRI(n, m, g, im)       FORM(n, m, L_I, K_OP, g, O_XD, O_X, O_NONE, O_NONE, im, 0, 0)
#define FFF(n, m, g, fl)       FORM(n, m, L_R, K_OP, g, O_F, O_F, O_F, O_NONE, I_NONE, fl, 0)
#define FFFF(n, m, g)	       FORM(n, m, L_R4, K_OP, g, O_F, O_F, O_F, O_F, I_NONE, F_RM, 0)
#define CVT(n, m, g, d, s, fl) FORM(n, m, L_R, K_OP, g, d, s, O_NONE, O_NONE, I_NONE, fl, 0)
#define XFF(n, m, g)	       FORM(n, m, L_R, K_OP, g, O_XD, O_F, O_F, O_NONE, I_NONE, 0, 0)
#define LD(n, m, g, d, im, sz) FORM(n, m, L_I, K_LOAD, g, d, O_X, O_NONE, O_NONE, im, 0, sz)
#define ST(n, m, g, s, sz)     FORM(n, m, L_S, K_STORE, g, O_NONE, O_X, s, O_NONE, I_S12, 0, sz)
#define AMO(n, f5, w)                                                                              \
	FORM(n, ((f5) << 27) | ((w) == 8 ? 0x302f : 0x202f), L_R, K_AMO, G_A, O_XD, O_XN, O_X,     \
	     O_NONE, I_NONE, F_AQRL, w)
#define BR(n, m)      FORM(n, m, L_B, K_BRANCH, G_CTRL, O_NONE, O_X, O_X, O_NONE, I_B13, 0, 0)
#define CSR(n, m, s1) FORM(n, m, L_I, K_CSR, G_CSR, O_XD, s1, O_NONE, O_NONE, I_I12, 0, 0)

static const struct form forms[] = {
    /* RV64I */
    XRR("add", 0x00000033, G_I),
    XRR("sub", 0x40000033, G_I),
    XRR("sll", 0x00001033, G_I),
    XRR("slt", 0x00002033, G_I),
    XRR("sltu", 0x00003033, G_I),
    XRR("xor", 0x00004033, G_I),
    XRR("srl", 0x00005033, G_I),
    XRR("sra", 0x40005033, G_I),
    XRR("or", 0x00006033, G_I),
    XRR("and", 0x00007033, G_I),
    XRR("addw", 0x0000003b, G_I),
    XRR("subw", 0x4000003b, G_I),
    XRR("sllw", 0x0000103b, G_I),
    XRR("srlw", 0x0000503b, G_I),
    XRR("sraw", 0x4000503b, G_I),
    XRI("addi", 0x00000013, G_I, I_I12),
    XRI("slti", 0x00002013, G_I, I_I12),
    XRI("sltiu", 0x00003013, G_I, I_I12),
    XRI("xori", 0x00004013, G_I, I_I12),
    XRI("ori", 0x00006013, G_I, I_I12),
    XRI("andi", 0x00007013, G_I, I_I12),
    XRI("slli", 0x00001013, G_I, I_SH6),
    XRI("srli", 0x00005013, G_I, I_SH6),
    XRI("srai", 0x40005013, G_I, I_SH6),
    XRI("addiw", 0x0000001b, G_I, I_I12),
    XRI("slliw", 0x0000101b, G_I, I_SH5),
    XRI("srliw", 0x0000501b, G_I, I_SH5),
    XRI("sraiw", 0x4000501b, G_I, I_SH5),
    FORM("lui", 0x00000037, L_U, K_OP, G_I, O_XD, O_NONE, O_NONE, O_NONE, I_U20, 0, 0),
    FORM("auipc", 0x00000017, L_U, K_OP, G_I, O_XD, O_NONE, O_NONE, O_NONE, I_U20, 0, 0),
    FORM("fence", 0x0000000f, L_I, K_OP, G_I, O_NONE, O_NONE, O_NONE, O_NONE, I_FENCE, 0, 0),
    FORM("fence.tso", 0x8330000f, L_I, K_OP, G_I, O_NONE, O_NONE, O_NONE, O_NONE, I_NONE, 0, 0),
    FORM("fence.i", 0x0000100f, L_I, K_OP, G_I, O_NONE, O_NONE, O_NONE, O_NONE, I_NONE, 0, 0),

    /* M */
    XRR("mul", 0x02000033, G_M),
    XRR("mulh", 0x02001033, G_M),
    XRR("mulhsu", 0x02002033, G_M),
    XRR("mulhu", 0x02003033, G_M),
    XRR("div", 0x02004033, G_M),
    XRR("divu", 0x02005033, G_M),
    XRR("rem", 0x02006033, G_M),
    XRR("remu", 0x02007033, G_M),
    XRR("mulw", 0x0200003b, G_M),
    XRR("divw", 0x0200403b, G_M),
    XRR("divuw", 0x0200503b, G_M),
    XRR("remw", 0x0200603b, G_M),
    XRR("remuw", 0x0200703b, G_M),

    /* Loads and stores */
    LD("lb", 0x00000003, G_MEM, O_XD, I_I12, 1),
    LD("lh", 0x00001003, G_MEM, O_XD, I_I12, 2),
    LD("lw", 0x00002003, G_MEM, O_XD, I_I12, 4),
    LD("ld", 0x00003003, G_MEM, O_XD, I_I12, 8),
    LD("lbu", 0x00004003, G_MEM, O_XD, I_I12, 1),
    LD("lhu", 0x00005003, G_MEM, O_XD, I_I12, 2),
    LD("lwu", 0x00006003, G_MEM, O_XD, I_I12, 4),
    ST("sb", 0x00000023, G_MEM, O_X, 1),
    ST("sh", 0x00001023, G_MEM, O_X, 2),
    ST("sw", 0x00002023, G_MEM, O_X, 4),
    ST("sd", 0x00003023, G_MEM, O_X, 8),
    LD("flw", 0x00002007, G_MEM, O_F, I_I12, 4),
    LD("fld", 0x00003007, G_MEM, O_F, I_I12, 8),
    ST("fsw", 0x00002027, G_MEM, O_F, 4),
    ST("fsd", 0x00003027, G_MEM, O_F, 8),

    /* A */
    FORM("lr.w", 0x1000202f, L_R, K_LR, G_A, O_XD, O_XN, O_NONE, O_NONE, I_NONE, F_AQRL, 4),
    FORM("lr.d", 0x1000302f, L_R, K_LR, G_A, O_XD, O_XN, O_NONE, O_NONE, I_NONE, F_AQRL, 8),
    FORM("sc.w", 0x1800202f, L_R, K_SC, G_A, O_XD, O_XN, O_X, O_NONE, I_NONE, F_AQRL, 4),
    FORM("sc.d", 0x1800302f, L_R, K_SC, G_A, O_XD, O_XN, O_X, O_NONE, I_NONE, F_AQRL, 8),
    AMO("amoswap.w", 0x01, 4),
    AMO("amoadd.w", 0x00, 4),
    AMO("amoxor.w", 0x04, 4),
    AMO("amoand.w", 0x0c, 4),
    AMO("amoor.w", 0x08, 4),
    AMO("amomin.w", 0x10, 4),
    AMO("amomax.w", 0x14, 4),
    AMO("amominu.w", 0x18, 4),
    AMO("amomaxu.w", 0x1c, 4),
    AMO("amoswap.d", 0x01, 8),
    AMO("amoadd.d", 0x00, 8),
    AMO("amoxor.d", 0x04, 8),
    AMO("amoand.d", 0x0c, 8),
    AMO("amoor.d", 0x08, 8),
    AMO("amomin.d", 0x10, 8),
    AMO("amomax.d", 0x14, 8),
    AMO("amominu.d", 0x18, 8),
    AMO("amomaxu.d", 0x1c, 8),

    /* F */
    FFF("fadd.s", 0x00000053, G_F, F_RM),
    FFF("fsub.s", 0x08000053, G_F, F_RM),
    FFF("fmul.s", 0x10000053, G_F, F_RM),
    FFF("fdiv.s", 0x18000053, G_F, F_RM),
    CVT("fsqrt.s", 0x58000053, G_F, O_F, O_F, F_RM),
    FFF("fsgnj.s", 0x20000053, G_F, 0),
    FFF("fsgnjn.s", 0x20001053, G_F, 0),
    FFF("fsgnjx.s", 0x20002053, G_F, 0),
    FFF("fmin.s", 0x28000053, G_F, 0),
    FFF("fmax.s", 0x28001053, G_F, 0),
    FFFF("fmadd.s", 0x00000043, G_F),
    FFFF("fmsub.s", 0x00000047, G_F),
    FFFF("fnmsub.s", 0x0000004b, G_F),
    FFFF("fnmadd.s", 0x0000004f, G_F),
    XFF("feq.s", 0xa0002053, G_F),
    XFF("flt.s", 0xa0001053, G_F),
    XFF("fle.s", 0xa0000053, G_F),
    CVT("fclass.s", 0xe0001053, G_F, O_XD, O_F, 0),
    CVT("fmv.x.w", 0xe0000053, G_F, O_XD, O_F, 0),
    CVT("fmv.w.x", 0xf0000053, G_F, O_F, O_X, 0),
    CVT("fcvt.w.s", 0xc0000053, G_F, O_XD, O_F, F_RM),
    CVT("fcvt.wu.s", 0xc0100053, G_F, O_XD, O_F, F_RM),
    CVT("fcvt.l.s", 0xc0200053, G_F, O_XD, O_F, F_RM),
    CVT("fcvt.lu.s", 0xc0300053, G_F, O_XD, O_F, F_RM),
    CVT("fcvt.s.w", 0xd0000053, G_F, O_F, O_X, F_RM),
    CVT("fcvt.s.wu", 0xd0100053, G_F, O_F, O_X, F_RM),
    CVT("fcvt.s.l", 0xd0200053, G_F, O_F, O_X, F_RM),
    CVT("fcvt.s.lu", 0xd0300053, G_F, O_F, O_X, F_RM),
    CVT("fcvt.s.d", 0x40100053, G_F, O_F, O_F, F_RM),

    /* D */
    FFF("fadd.d", 0x02000053, G_D, F_RM),
    FFF("fsub.d", 0x0a000053, G_D, F_RM),
    FFF("fmul.d", 0x12000053, G_D, F_RM),
    FFF("fdiv.d", 0x1a000053, G_D, F_RM),
    CVT("fsqrt.d", 0x5a000053, G_D, O_F, O_F, F_RM),
    FFF("fsgnj.d", 0x22000053, G_D, 0),
    FFF("fsgnjn.d", 0x22001053, G_D, 0),
    FFF("fsgnjx.d", 0x22002053, G_D, 0),
    FFF("fmin.d", 0x2a000053, G_D, 0),
    FFF("fmax.d", 0x2a001053, G_D, 0),
    FFFF("fmadd.d", 0x02000043, G_D),
    FFFF("fmsub.d", 0x02000047, G_D),
    FFFF("fnmsub.d", 0x0200004b, G_D),
    FFFF("fnmadd.d", 0x0200004f, G_D),
    XFF("feq.d", 0xa2002053, G_D),
    XFF("flt.d", 0xa2001053, G_D),
    XFF("fle.d", 0xa2000053, G_D),
    CVT("fclass.d", 0xe2001053, G_D, O_XD, O_F, 0),
    CVT("fmv.x.d", 0xe2000053, G_D, O_XD, O_F, 0),
    CVT("fmv.d.x", 0xf2000053, G_D, O_F, O_X, 0),
    CVT("fcvt.w.d", 0xc2000053, G_D, O_XD, O_F, F_RM),
    CVT("fcvt.wu.d", 0xc2100053, G_D, O_XD, O_F, F_RM),
    CVT("fcvt.l.d", 0xc2200053, G_D, O_XD, O_F, F_RM),
    CVT("fcvt.lu.d", 0xc2300053, G_D, O_XD, O_F, F_RM),
    CVT("fcvt.d.w", 0xd2000053, G_D, O_F, O_X, F_RM),
    CVT("fcvt.d.wu", 0xd2100053, G_D, O_F, O_X, F_RM),
    CVT("fcvt.d.l", 0xd2200053, G_D, O_F, O_X, F_RM),
    CVT("fcvt.d.lu", 0xd2300053, G_D, O_F, O_X, F_RM),
    CVT("fcvt.d.s", 0x42000053, G_D, O_F, O_F, F_RM),

    /* Zba */
    XRR("add.uw", 0x0800003b, G_ZBA),
    XRR("sh1add", 0x20002033, G_ZBA),
    XRR("sh2add", 0x20004033, G_ZBA),
    XRR("sh3add", 0x20006033, G_ZBA),
    XRR("sh1add.uw", 0x2000203b, G_ZBA),
    XRR("sh2add.uw", 0x2000403b, G_ZBA),
    XRR("sh3add.uw", 0x2000603b, G_ZBA),
    XRI("slli.uw", 0x0800101b, G_ZBA, I_SH6),

    /* Zbb */
    XRR("andn", 0x40007033, G_ZBB),
    XRR("orn", 0x40006033, G_ZBB),
    XRR("xnor", 0x40004033, G_ZBB),
    XR("clz", 0x60001013, G_ZBB),
    XR("clzw", 0x6000101b, G_ZBB),
    XR("ctz", 0x60101013, G_ZBB),
    FORM("ctzw", 0x6010101b, L_R, K_OP, G_ZBB, O_XD, O_X, O_NONE, O_NONE, I_NONE, F_QEMU_ZEXT, 0),
    XR("cpop", 0x60201013, G_ZBB),
    XR("cpopw", 0x6020101b, G_ZBB),
    XRR("max", 0x0a006033, G_ZBB),
    XRR("maxu", 0x0a007033, G_ZBB),
    XRR("min", 0x0a004033, G_ZBB),
    XRR("minu", 0x0a005033, G_ZBB),
    XR("sext.b", 0x60401013, G_ZBB),
    XR("sext.h", 0x60501013, G_ZBB),
    XR("zext.h", 0x0800403b, G_ZBB),
    XRR("rol", 0x60001033, G_ZBB),
    XRR("rolw", 0x6000103b, G_ZBB),
    XRR("ror", 0x60005033, G_ZBB),
    XRR("rorw", 0x6000503b, G_ZBB),
    XRI("rori", 0x60005013, G_ZBB, I_SH6),
    XRI("roriw", 0x6000501b, G_ZBB, I_SH5),
    XR("orc.b", 0x28705013, G_ZBB),
    XR("rev8", 0x6b805013, G_ZBB),

    /* Zbs */
    XRR("bclr", 0x48001033, G_ZBS),
    XRI("bclri", 0x48001013, G_ZBS, I_SH6),
    XRR("bext", 0x48005033, G_ZBS),
    XRI("bexti", 0x48005013, G_ZBS, I_SH6),
    XRR("binv", 0x68001033, G_ZBS),
    XRI("binvi", 0x68001013, G_ZBS, I_SH6),
    XRR("bset", 0x28001033, G_ZBS),
    XRI("bseti", 0x28001013, G_ZBS, I_SH6),

    /* Control flow (forward only) */
    BR("beq", 0x00000063),
    BR("bne", 0x00001063),
    BR("blt", 0x00004063),
    BR("bge", 0x00005063),
    BR("bltu", 0x00006063),
    BR("bgeu", 0x00007063),
    FORM("jal", 0x0000006f, L_J, K_JAL, G_CTRL, O_XD, O_NONE, O_NONE, O_NONE, I_J21, 0, 0),
    FORM("jalr", 0x00000067, L_I, K_JALR, G_CTRL, O_XD, O_XDN, O_NONE, O_NONE, I_I12, 0, 0),

    /* Zicsr on the FP CSRs; the CSR number is the I-type immediate */
    CSR("csrrw", 0x00001073, O_X),
    CSR("csrrs", 0x00002073, O_X),
    CSR("csrrc", 0x00003073, O_X),
    CSR("csrrwi", 0x00005073, O_U5),
    CSR("csrrsi", 0x00006073, O_U5),
    CSR("csrrci", 0x00007073, O_U5),

    /* C, quadrant 0 */
    FORM("c.addi4spn", 0x0000, L_CIW, K_OP, G_C, O_XC, O_SP, O_NONE, O_NONE, I_C_4SPN, 0, 0),
    FORM("c.fld", 0x2000, L_CL, K_LOAD, G_C, O_FC, O_XC, O_NONE, O_NONE, I_C_LD, 0, 8),
    FORM("c.lw", 0x4000, L_CL, K_LOAD, G_C, O_XC, O_XC, O_NONE, O_NONE, I_C_LW, 0, 4),
    FORM("c.ld", 0x6000, L_CL, K_LOAD, G_C, O_XC, O_XC, O_NONE, O_NONE, I_C_LD, 0, 8),
    FORM("c.fsd", 0xa000, L_CS, K_STORE, G_C, O_NONE, O_XC, O_FC, O_NONE, I_C_LD, 0, 8),
    FORM("c.sw", 0xc000, L_CS, K_STORE, G_C, O_NONE, O_XC, O_XC, O_NONE, I_C_LW, 0, 4),
    FORM("c.sd", 0xe000, L_CS, K_STORE, G_C, O_NONE, O_XC, O_XC, O_NONE, I_C_LD, 0, 8),
    /* C, quadrant 1 */
    FORM("c.nop", 0x0001, L_CI, K_OP, G_C, O_NONE, O_NONE, O_NONE, O_NONE, I_NONE, 0, 0),
    FORM("c.addi", 0x0001, L_CI, K_OP, G_C, O_XDN, O_NONE, O_NONE, O_NONE, I_C_NZS6, 0, 0),
    FORM("c.addiw", 0x2001, L_CI, K_OP, G_C, O_XDN, O_NONE, O_NONE, O_NONE, I_C_S6, 0, 0),
    FORM("c.li", 0x4001, L_CI, K_OP, G_C, O_XDN, O_NONE, O_NONE, O_NONE, I_C_S6, 0, 0),
    FORM("c.addi16sp", 0x6101, L_CI, K_SPADJ, G_C, O_SP, O_NONE, O_NONE, O_NONE, I_C_SP16, 0, 0),
    FORM("c.lui", 0x6001, L_CI, K_OP, G_C, O_XDN, O_NONE, O_NONE, O_NONE, I_C_LUI, 0, 0),
    FORM("c.srli", 0x8001, L_CB, K_OP, G_C, O_XC, O_NONE, O_NONE, O_NONE, I_C_SH6, 0, 0),
    FORM("c.srai", 0x8401, L_CB, K_OP, G_C, O_XC, O_NONE, O_NONE, O_NONE, I_C_SH6, 0, 0),
    FORM("c.andi", 0x8801, L_CB, K_OP, G_C, O_XC, O_NONE, O_NONE, O_NONE, I_C_S6, 0, 0),
    FORM("c.sub", 0x8c01, L_CA, K_OP, G_C, O_XC, O_NONE, O_XC, O_NONE, I_NONE, 0, 0),
    FORM("c.xor", 0x8c21, L_CA, K_OP, G_C, O_XC, O_NONE, O_XC, O_NONE, I_NONE, 0, 0),
    FORM("c.or", 0x8c41, L_CA, K_OP, G_C, O_XC, O_NONE, O_XC, O_NONE, I_NONE, 0, 0),
    FORM("c.and", 0x8c61, L_CA, K_OP, G_C, O_XC, O_NONE, O_XC, O_NONE, I_NONE, 0, 0),
    FORM("c.subw", 0x9c01, L_CA, K_OP, G_C, O_XC, O_NONE, O_XC, O_NONE, I_NONE, 0, 0),
    FORM("c.addw", 0x9c21, L_CA, K_OP, G_C, O_XC, O_NONE, O_XC, O_NONE, I_NONE, 0, 0),
    FORM("c.j", 0xa001, L_CJ, K_JAL, G_C, O_NONE, O_NONE, O_NONE, O_NONE, I_C_J12, 0, 0),
    FORM("c.beqz", 0xc001, L_CB, K_BRANCH, G_C, O_NONE, O_XC, O_NONE, O_NONE, I_C_B9, 0, 0),
    FORM("c.bnez", 0xe001, L_CB, K_BRANCH, G_C, O_NONE, O_XC, O_NONE, O_NONE, I_C_B9, 0, 0),
    /* C, quadrant 2 */
    FORM("c.slli", 0x0002, L_CI, K_OP, G_C, O_XDN, O_NONE, O_NONE, O_NONE, I_C_SH6, 0, 0),
    FORM("c.fldsp", 0x2002, L_CI, K_LOAD, G_C, O_F, O_SP, O_NONE, O_NONE, I_C_LDSP, 0, 8),
    FORM("c.lwsp", 0x4002, L_CI, K_LOAD, G_C, O_XDN, O_SP, O_NONE, O_NONE, I_C_LWSP, 0, 4),
    FORM("c.ldsp", 0x6002, L_CI, K_LOAD, G_C, O_XDN, O_SP, O_NONE, O_NONE, I_C_LDSP, 0, 8),
    FORM("c.jr", 0x8002, L_CR, K_JALR, G_C, O_NONE, O_XDN, O_NONE, O_NONE, I_NONE, 0, 0),
    FORM("c.mv", 0x8002, L_CR, K_OP, G_C, O_XDN, O_NONE, O_XN, O_NONE, I_NONE, 0, 0),
    FORM("c.jalr", 0x9002, L_CR, K_JALR, G_C, O_NONE, O_XDN, O_NONE, O_NONE, I_NONE, 0, 0),
    FORM("c.add", 0x9002, L_CR, K_OP, G_C, O_XDN, O_NONE, O_XN, O_NONE, I_NONE, 0, 0),
    FORM("c.fsdsp", 0xa002, L_CSS, K_STORE, G_C, O_NONE, O_SP, O_F, O_NONE, I_C_SDSP, 0, 8),
    FORM("c.swsp", 0xc002, L_CSS, K_STORE, G_C, O_NONE, O_SP, O_X, O_NONE, I_C_SWSP, 0, 4),
    FORM("c.sdsp", 0xe002, L_CSS, K_STORE, G_C, O_NONE, O_SP, O_X, O_NONE, I_C_SDSP, 0, 8),

    /* sp adjustments (never inside a branch shadow; see K_SPADJ) */
    FORM("addi", 0x00000013, L_I, K_SPADJ, G_I, O_SP, O_SP, O_NONE, O_NONE, I_I12, 0, 0),
    FORM("c.addi", 0x0001, L_CI, K_SPADJ, G_C, O_SP, O_NONE, O_NONE, O_NONE, I_C_NZS6, 0, 0),

    /* harness only */
    FORM("ecall", 0x00000073, L_I, K_OP, G_NONE, O_NONE, O_NONE, O_NONE, O_NONE, I_NONE, 0, 0),
};

#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* ---- immediates: legal values and their bit placement ---- */

static uint32_t bits(int64_t v, int hi, int lo)
{
	return (uint32_t)(((uint64_t)v >> lo) & ((1ull << (hi - lo + 1)) - 1));
}

static uint32_t place_i12(int64_t v)
{
	return bits(v, 11, 0) << 20;
}
static uint32_t place_s12(int64_t v)
{
	return bits(v, 11, 5) << 25 | bits(v, 4, 0) << 7;
}
static uint32_t place_b13(int64_t v)
{
	return bits(v, 12, 12) << 31 | bits(v, 10, 5) << 25 | bits(v, 4, 1) << 8 |
	       bits(v, 11, 11) << 7;
}
static uint32_t place_u20(int64_t v)
{
	return bits(v, 19, 0) << 12;
}
static uint32_t place_j21(int64_t v)
{
	return bits(v, 20, 20) << 31 | bits(v, 10, 1) << 21 | bits(v, 11, 11) << 20 |
	       bits(v, 19, 12) << 12;
}
static uint32_t place_sh6(int64_t v)
{
	return bits(v, 5, 0) << 20;
}
static uint32_t place_sh5(int64_t v)
{
	return bits(v, 4, 0) << 20;
}
static uint32_t place_fence(int64_t v)
{
	return bits(v, 7, 0) << 20;
}
static uint32_t place_c_6(int64_t v)
{
	return bits(v, 5, 5) << 12 | bits(v, 4, 0) << 2;
}
static uint32_t place_c_sp16(int64_t v)
{
	return bits(v, 9, 9) << 12 | bits(v, 4, 4) << 6 | bits(v, 6, 6) << 5 | bits(v, 8, 7) << 3 |
	       bits(v, 5, 5) << 2;
}
static uint32_t place_c_4spn(int64_t v)
{
	return bits(v, 5, 4) << 11 | bits(v, 9, 6) << 7 | bits(v, 2, 2) << 6 | bits(v, 3, 3) << 5;
}
static uint32_t place_c_lw(int64_t v)
{
	return bits(v, 5, 3) << 10 | bits(v, 2, 2) << 6 | bits(v, 6, 6) << 5;
}
static uint32_t place_c_ld(int64_t v)
{
	return bits(v, 5, 3) << 10 | bits(v, 7, 6) << 5;
}
static uint32_t place_c_lwsp(int64_t v)
{
	return bits(v, 5, 5) << 12 | bits(v, 4, 2) << 4 | bits(v, 7, 6) << 2;
}
static uint32_t place_c_ldsp(int64_t v)
{
	return bits(v, 5, 5) << 12 | bits(v, 4, 3) << 5 | bits(v, 8, 6) << 2;
}
static uint32_t place_c_swsp(int64_t v)
{
	return bits(v, 5, 2) << 9 | bits(v, 7, 6) << 7;
}
static uint32_t place_c_sdsp(int64_t v)
{
	return bits(v, 5, 3) << 10 | bits(v, 8, 6) << 7;
}
static uint32_t place_c_b9(int64_t v)
{
	return bits(v, 8, 8) << 12 | bits(v, 4, 3) << 10 | bits(v, 7, 6) << 5 | bits(v, 2, 1) << 3 |
	       bits(v, 5, 5) << 2;
}
static uint32_t place_c_j12(int64_t v)
{
	return bits(v, 11, 11) << 12 | bits(v, 4, 4) << 11 | bits(v, 9, 8) << 9 |
	       bits(v, 10, 10) << 8 | bits(v, 6, 6) << 7 | bits(v, 7, 7) << 6 | bits(v, 3, 1) << 3 |
	       bits(v, 5, 5) << 2;
}

struct immdesc {
	int64_t min, max; /* legal values (the value as the instruction means it) */
	unsigned scale;	  /* values are multiples of this */
	bool nonzero;	  /* zero is reserved or a HINT */
	uint32_t (*place)(int64_t);
};

static const struct immdesc imms[I_COUNT] = {
    [I_I12] = {-2048, 2047, 1, false, place_i12},
    [I_S12] = {-2048, 2047, 1, false, place_s12},
    [I_B13] = {-4096, 4094, 2, false, place_b13},
    [I_U20] = {-524288, 524287, 1, false, place_u20},
    [I_J21] = {-1048576, 1048574, 2, false, place_j21},
    [I_SH6] = {0, 63, 1, false, place_sh6},
    [I_SH5] = {0, 31, 1, false, place_sh5},
    [I_FENCE] = {1, 255, 1, false, place_fence}, /* pred << 4 | succ */
    [I_C_S6] = {-32, 31, 1, false, place_c_6},
    [I_C_NZS6] = {-32, 31, 1, true, place_c_6},
    [I_C_SH6] = {1, 63, 1, true, place_c_6},
    [I_C_LUI] = {-32, 31, 1, true, place_c_6}, /* nzimm[17:12] */
    [I_C_SP16] = {-512, 496, 16, true, place_c_sp16},
    [I_C_4SPN] = {4, 1020, 4, true, place_c_4spn},
    [I_C_LW] = {0, 124, 4, false, place_c_lw},
    [I_C_LD] = {0, 248, 8, false, place_c_ld},
    [I_C_LWSP] = {0, 252, 4, false, place_c_lwsp},
    [I_C_LDSP] = {0, 504, 8, false, place_c_ldsp},
    [I_C_SWSP] = {0, 252, 4, false, place_c_swsp},
    [I_C_SDSP] = {0, 504, 8, false, place_c_sdsp},
    [I_C_B9] = {-256, 254, 2, false, place_c_b9},
    [I_C_J12] = {-2048, 2046, 2, false, place_c_j12},
};

static bool imm_ok(enum immk k, int64_t v)
{
	const struct immdesc *d = &imms[k];
	if (k == I_FENCE && (!(v & 15) || !(v >> 4)))
		return false; /* an empty predecessor or successor set is a HINT */
	return v >= d->min && v <= d->max && v % (int64_t)d->scale == 0 && !(d->nonzero && v == 0);
}

/* A legal value, biased towards the edges of the range and small values. */
static int64_t pick_imm(struct rng *r, enum immk k)
{
	const struct immdesc *d = &imms[k];
	int64_t v;
	do {
		switch (rng_below(r, 6)) {
		case 0:
			v = d->min;
			break;
		case 1:
			v = d->max;
			break;
		case 2:
			v = rng_range(r, -4, 4) * (int64_t)d->scale;
			break;
		default:
			v = rng_range(r, d->min, d->max);
			break;
		}
		v -= v % (int64_t)d->scale;
	} while (!imm_ok(k, v));
	return v;
}

/* ---- encoding ---- */

struct ops {
	uint8_t rd, rs1, rs2, rs3, rm, aqrl;
	int64_t imm;
};

static bool is_compressed(const struct form *f)
{
	return f->layout >= L_CR;
}

/* A register field's value; fields the form does not have stay zero. */
static uint32_t field(uint8_t cls, uint8_t reg)
{
	return cls == O_NONE ? 0 : reg;
}

static uint32_t encode(const struct form *f, const struct ops *o)
{
	uint32_t w = f->match;
	uint32_t rd = field(f->rd, o->rd), rs1 = field(f->rs1, o->rs1), rs2 = field(f->rs2, o->rs2);
	/* compressed formats with one register field in bits 11:7 or 9:7 */
	uint32_t rd_rs1 = f->rd != O_NONE ? rd : rs1;

	switch (f->layout) {
	case L_R4:
		w |= field(f->rs3, o->rs3) << 27;
		/* fall through */
	case L_R:
	case L_I:
	case L_S:
	case L_B:
	case L_U:
	case L_J:
		w |= rd << 7 | rs1 << 15 | rs2 << 20;
		break;
	case L_CR:
		w |= rd_rs1 << 7 | rs2 << 2;
		break;
	case L_CI: /* c.lwsp & co. have sp as an implied base, not a field */
		w |= rd << 7;
		break;
	case L_CSS:
		w |= rs2 << 2;
		break;
	case L_CIW:
		w |= (rd & 7) << 2;
		break;
	case L_CL:
		w |= (rs1 & 7) << 7 | (rd & 7) << 2;
		break;
	case L_CS:
		w |= (rs1 & 7) << 7 | (rs2 & 7) << 2;
		break;
	case L_CA:
		w |= (rd & 7) << 7 | (rs2 & 7) << 2;
		break;
	case L_CB:
		w |= (rd_rs1 & 7) << 7;
		break;
	case L_CJ:
		break;
	}
	if (f->flags & F_RM)
		w |= (uint32_t)o->rm << 12;
	if (f->flags & F_AQRL)
		w |= (uint32_t)o->aqrl << 25;
	if (f->imm != I_NONE)
		w |= imms[f->imm].place(o->imm);
	return w;
}

/* The first form of that name (the sp-adjusting duplicates come last). */
static const struct form *form_named(const char *name)
{
	for (size_t i = 0; i < NFORMS; i++)
		if (!strcmp(forms[i].name, name))
			return &forms[i];
	fprintf(stderr, "gen: no form %s\n", name);
	exit(2);
}

/* ---- output buffers and the program under construction ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	b->cap = (b->len + more) * 2;
	b->p = realloc(b->p, b->cap);
	if (!b->p) {
		perror("gen");
		exit(2);
	}
}

static void buf_put(struct buf *b, const void *src, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct insn {
	uint64_t pc;
	const struct form *f;
	struct ops o;
};

struct sym {
	char name[32];
	uint64_t addr, size;
};

struct prog {
	struct buf text;
	uint64_t data_vaddr; /* known before any code is emitted (see main) */
	uint8_t *records;
	uint64_t first, count;
	struct sym *syms;
	size_t nsyms, capsyms;
	struct insn *insns; /* every instruction, kept for --listing and --asm */
	size_t ninsns, capinsns;
	bool keep_insns;
	uint64_t load_state, save_state, finish;
};

static uint64_t pc_of(const struct prog *p)
{
	return TEXT_VADDR + TEXT_OFFSET + p->text.len;
}

static void add_sym(struct prog *p, const char *name, uint64_t addr)
{
	if (p->nsyms == p->capsyms) {
		p->capsyms = p->capsyms ? 2 * p->capsyms : 64;
		p->syms = realloc(p->syms, p->capsyms * sizeof(*p->syms));
		if (!p->syms) {
			perror("gen");
			exit(2);
		}
	}
	struct sym *s = &p->syms[p->nsyms++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->addr = addr;
	s->size = 0;
}

static void end_sym(struct prog *p)
{
	struct sym *s = &p->syms[p->nsyms - 1];
	s->size = pc_of(p) - s->addr;
}

static size_t emit(struct prog *p, const struct form *f, const struct ops *o)
{
	size_t at = p->text.len;
	uint8_t b[4];
	int n = is_compressed(f) ? 2 : 4;
	if (p->keep_insns) {
		if (p->ninsns == p->capinsns) {
			p->capinsns = p->capinsns ? 2 * p->capinsns : 4096;
			p->insns = realloc(p->insns, p->capinsns * sizeof(*p->insns));
			if (!p->insns) {
				perror("gen");
				exit(2);
			}
		}
		p->insns[p->ninsns++] = (struct insn){pc_of(p), f, *o};
	}
	put_le(b, encode(f, o), n);
	buf_put(&p->text, b, n);
	return at;
}

static void repatch(struct prog *p, size_t at, const struct form *f, const struct ops *o)
{
	put_le(p->text.p + at, encode(f, o), is_compressed(f) ? 2 : 4);
	if (p->keep_insns) {
		uint64_t pc = TEXT_VADDR + TEXT_OFFSET + at;
		size_t i = p->ninsns;
		while (i > 0 && p->insns[i - 1].pc != pc)
			i--;
		if (i > 0)
			p->insns[i - 1].o = *o;
	}
}

/* Shorthands for the fixed instructions of the harness and the macros. */
static void emit_i(struct prog *p, const char *name, int rd, int rs1, int64_t imm)
{
	struct ops o = {.rd = rd, .rs1 = rs1, .imm = imm};
	emit(p, form_named(name), &o);
}

static void emit_r(struct prog *p, const char *name, int rd, int rs1, int rs2)
{
	struct ops o = {.rd = rd, .rs1 = rs1, .rs2 = rs2};
	emit(p, form_named(name), &o);
}

static void emit_mem(struct prog *p, const char *name, uint8_t kind, int reg, int base, int64_t off)
{
	const struct form *f = form_named(name);
	struct ops o = {.rs1 = base, .imm = off};
	if (kind == K_LOAD)
		o.rd = reg;
	else
		o.rs2 = reg;
	emit(p, f, &o);
}

static void split_hi_lo(int64_t delta, int64_t *hi, int64_t *lo)
{
	*hi = (delta + 0x800) >> 12;
	*lo = delta - *hi * 4096;
}

/* rd = target address (auipc + addi). */
static void emit_la(struct prog *p, int rd, uint64_t target)
{
	int64_t hi, lo;
	split_hi_lo((int64_t)(target - pc_of(p)), &hi, &lo);
	emit_i(p, "auipc", rd, 0, hi);
	emit_i(p, "addi", rd, rd, lo);
}

/* ra = return address; jump to target (auipc + jalr, any distance). */
static void emit_call(struct prog *p, uint64_t target)
{
	int64_t hi, lo;
	split_hi_lo((int64_t)(target - pc_of(p)), &hi, &lo);
	emit_i(p, "auipc", RA, 0, hi);
	struct ops o = {.rd = RA, .rs1 = RA, .imm = lo};
	emit(p, form_named("jalr"), &o);
}

/* ---- harness routines ---- */

static void emit_harness(struct prog *p)
{
	const int t0 = 5, t1 = 6, a0 = 10, a1 = 11, a2 = 12, a7 = 17;

	p->load_state = pc_of(p);
	add_sym(p, "load_state", p->load_state);
	for (int i = 0; i < 32; i++)
		emit_mem(p, "fld", K_LOAD, i, SP, REC_F + 8 * i);
	emit_mem(p, "ld", K_LOAD, t0, SP, REC_FCSR);
	emit_i(p, "csrrw", 0, t0, 3); /* fscsr t0 */
	for (int i = 3; i < 32; i++)
		emit_mem(p, "ld", K_LOAD, i, SP, REC_X + 8 * i);
	emit_i(p, "jalr", 0, RA, 0);
	end_sym(p);

	p->save_state = pc_of(p);
	add_sym(p, "save_state", p->save_state);
	for (int i = 0; i < 32; i++)
		if (i != RA)
			emit_mem(p, "sd", K_STORE, i, SP, REC_X + 8 * i);
	for (int i = 0; i < 32; i++)
		emit_mem(p, "fsd", K_STORE, i, SP, REC_F + 8 * i);
	emit_i(p, "csrrs", t0, 0, 3); /* frcsr t0 */
	emit_mem(p, "sd", K_STORE, t0, SP, REC_FCSR);
	/* write(1, sp, REC_SIZE), retrying short writes; exit(1) on error */
	emit_i(p, "addi", a1, SP, 0);
	emit_i(p, "addi", a2, 0, REC_SIZE);
	uint64_t again = pc_of(p);
	emit_i(p, "addi", a0, 0, 1);
	emit_i(p, "addi", a7, 0, 64);
	emit_i(p, "ecall", 0, 0, 0);
	size_t bail = emit(p, form_named("bge"), &(struct ops){.rs1 = 0, .rs2 = a0});
	uint64_t bail_pc = pc_of(p) - 4;
	emit_r(p, "add", a1, a1, a0);
	emit_r(p, "sub", a2, a2, a0);
	emit(p, form_named("bne"),
	     &(struct ops){.rs1 = a2, .rs2 = 0, .imm = (int64_t)(again - pc_of(p))});
	/* one case fewer to go; exit(0) after the last */
	emit_la(p, t0, p->data_vaddr);
	emit_mem(p, "ld", K_LOAD, t1, t0, 0);
	emit_i(p, "addi", t1, t1, -1);
	emit_mem(p, "sd", K_STORE, t1, t0, 0);
	size_t done = emit(p, form_named("beq"), &(struct ops){.rs1 = t1, .rs2 = 0});
	uint64_t done_pc = pc_of(p) - 4;
	emit_i(p, "jalr", 0, RA, 0);
	end_sym(p);

	p->finish = pc_of(p);
	add_sym(p, "finish", p->finish);
	repatch(p, done, form_named("beq"),
		&(struct ops){.rs1 = t1, .rs2 = 0, .imm = (int64_t)(p->finish - done_pc)});
	emit_i(p, "addi", a0, 0, 0);
	emit_i(p, "addi", a7, 0, 94); /* exit_group */
	emit_i(p, "ecall", 0, 0, 0);
	uint64_t fail = pc_of(p);
	repatch(p, bail, form_named("bge"),
		&(struct ops){.rs1 = 0, .rs2 = a0, .imm = (int64_t)(fail - bail_pc)});
	emit_i(p, "addi", a0, 0, 1);
	emit_i(p, "addi", a7, 0, 94);
	emit_i(p, "ecall", 0, 0, 0);
	end_sym(p);
}

/* ---- initial values ---- */

static const uint64_t x_special[] = {
    0,
    1,
    2,
    3,
    0xffffffffffffffff,
    0xfffffffffffffffe,
    0x8000000000000000,
    0x7fffffffffffffff,
    0x80000000,
    0xffffffff80000000,
    0x7fffffff,
    0xffffffff,
    0x100000000,
    0xffffffff7fffffff,
    0x8000,
    0xffff,
    0xffffffffffff8000,
    0x80,
    0xff,
    0xffffffffffffff80,
    31,
    32,
    63,
    64,
    0x3ff0000000000000,
    0x7ff0000000000000,
    0x7ff8000000000000,
    0x3f800000,
    0xffffffff3f800000,
    0x7fc00000,
    0x4f000000,
    0x41e0000000000000,
    0x43e0000000000000,
    0x5f000000,
    0x0101010101010101,
    0x8080808080808080,
    0x00ff00ff00ff00ff,
};

static uint64_t pick_xval(struct rng *r)
{
	switch (rng_below(r, 9)) {
	case 0:
	case 1:
		return PICK(r, x_special);
	case 2:
		return (uint64_t)rng_range(r, -16, 16);
	case 3: {
		uint64_t b = 1ull << rng_below(r, 64);
		switch (rng_below(r, 3)) {
		case 0:
			return b;
		case 1:
			return ~b;
		default:
			return -b;
		}
	}
	case 4:
		return (uint64_t)(int64_t)(int32_t)rng_next(r);
	case 5:
		return (uint32_t)rng_next(r);
	case 6: { /* bytes from {00, ff, 80, 7f, random}: orc.b, rev8, sext.* */
		static const uint8_t bytes[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v |= (uint64_t)(rng_chance(r, 80) ? PICK(r, bytes) : (uint8_t)rng_next(r))
			     << (8 * i);
		return v;
	}
	default:
		return rng_next(r);
	}
}

static const uint64_t d_special[] = {
    0x0000000000000000, 0x8000000000000000, 0x7ff0000000000000, 0xfff0000000000000,
    0x7ff8000000000000, 0xfff8000000000000, 0x7ff0000000000001, 0x7ff4000000000000,
    0x7ff8000000000123, 0x0000000000000001, 0x000fffffffffffff, 0x8000000000000001,
    0x0010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff, 0x3ff0000000000000,
    0xbff0000000000000, 0x3fe0000000000000, 0x3ff8000000000000, 0x4004000000000000,
    0xc004000000000000, 0x41dfffffffc00000, 0x41dfffffffe00000, 0x41e0000000000000,
    0xc1e0000000000000, 0xc1e0000000200000, 0x41efffffffe00000, 0x41effffffff00000,
    0x41f0000000000000, 0x43dfffffffffffff, 0x43e0000000000000, 0xc3e0000000000000,
    0x43efffffffffffff, 0x43f0000000000000, 0x36a0000000000000, 0x3810000000000000,
    0x47efffffe0000000, 0x47f0000000000000,
};

static const uint32_t s_special[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001,
    0x7fa00000, 0x7fc00123, 0x00000001, 0x007fffff, 0x80000001, 0x00800000, 0x7f7fffff,
    0xff7fffff, 0x3f800000, 0xbf800000, 0x3f000000, 0x3fc00000, 0x40200000, 0xc0200000,
    0x4effffff, 0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000, 0x5effffff,
    0x5f000000, 0xdf000000, 0x5f7fffff, 0x5f800000, 0x0c800000,
};

/* A double with a chosen exponent class. */
static uint64_t random_double(struct rng *r)
{
	uint64_t sign = rng_next(r) & (1ull << 63);
	uint64_t exp;
	switch (rng_below(r, 5)) {
	case 0:
		exp = 0;
		break;
	case 1:
		exp = 0x7ff;
		break;
	case 2:
		exp = (uint64_t)rng_range(r, 0x3ff - 70, 0x3ff + 70);
		break;
	default:
		exp = rng_below(r, 0x800);
		break;
	}
	uint64_t mant = rng_next(r) & 0xfffffffffffffull;
	if (rng_chance(r, 25))
		mant &= ~0ull << rng_below(r, 52); /* few significant bits: exact results */
	return sign | exp << 52 | mant;
}

static uint32_t random_single(struct rng *r)
{
	uint32_t sign = (uint32_t)rng_next(r) & 0x80000000u;
	uint32_t exp;
	switch (rng_below(r, 5)) {
	case 0:
		exp = 0;
		break;
	case 1:
		exp = 0xff;
		break;
	case 2:
		exp = (uint32_t)rng_range(r, 127 - 40, 127 + 40);
		break;
	default:
		exp = (uint32_t)rng_below(r, 0x100);
		break;
	}
	uint32_t mant = (uint32_t)rng_next(r) & 0x7fffffu;
	if (rng_chance(r, 25))
		mant &= ~0u << rng_below(r, 23);
	return sign | exp << 23 | mant;
}

static uint64_t pick_fval(struct rng *r)
{
	const uint64_t box = 0xffffffff00000000ull;
	switch (rng_below(r, 10)) {
	case 0:
		return PICK(r, d_special);
	case 1:
	case 2:
		return box | PICK(r, s_special);
	case 3:
	case 4:
		return random_double(r);
	case 5:
	case 6:
		return box | random_single(r);
	case 7: /* not NaN-boxed: single ops must see the canonical NaN */
	{
		uint64_t upper = rng_next(r) & 0x7fffffff00000000ull;
		return upper | PICK(r, s_special);
	}
	case 8:
		return 0xfffffffe00000000ull | random_single(r); /* boxed but for one bit */
	default:
		return rng_next(r);
	}
}

/* ---- case generation ---- */

#define MAX_ITEMS  50
#define MAX_FIXUPS (2 * MAX_ITEMS)

/* A forward control transfer whose offset is known once its target item is. */
struct fixup {
	size_t at;	 /* text offset of the instruction to patch */
	uint64_t origin; /* pc the offset is relative to */
	const struct form *f;
	struct ops o;
	int target; /* item index; nitems means the case's end */
};

struct gen {
	struct prog *p;
	struct rng *r;
	int spoff; /* sp - record address; in [-SPOFF_MAX, 0] */
	int item, nitems;
	int shadow_end; /* items before this one may be skipped by a branch */
	struct fixup fix[MAX_FIXUPS];
	int nfix;
};

#define SPOFF_MAX 128

static int pick_reg(struct rng *r, enum opnd c)
{
	int v;
	switch (c) {
	case O_X:
		return (int)rng_below(r, 32);
	case O_XN:
		return 1 + (int)rng_below(r, 31);
	case O_XD:
		do
			v = (int)rng_below(r, 32);
		while (v == SP);
		return v;
	case O_XDN:
		do
			v = 1 + (int)rng_below(r, 31);
		while (v == SP);
		return v;
	case O_XC:
	case O_FC:
		return 8 + (int)rng_below(r, 8);
	case O_F:
		return (int)rng_below(r, 32);
	case O_SP:
		return SP;
	case O_U5:
		return (int)rng_below(r, 32);
	default:
		return 0;
	}
}

/* Dynamic rounding mode (frm is kept valid, see gen_csr) 1 time in 3. */
static uint8_t pick_rm(struct rng *r)
{
	return rng_chance(r, 33) ? 7 : (uint8_t)rng_below(r, 5);
}

static void random_ops(struct gen *g, const struct form *f, struct ops *o)
{
	o->rd = (uint8_t)pick_reg(g->r, f->rd);
	o->rs1 = (uint8_t)pick_reg(g->r, f->rs1);
	o->rs2 = (uint8_t)pick_reg(g->r, f->rs2);
	o->rs3 = (uint8_t)pick_reg(g->r, f->rs3);
	o->rm = pick_rm(g->r);
	o->aqrl = (uint8_t)rng_below(g->r, 4);
	o->imm = f->imm != I_NONE ? pick_imm(g->r, f->imm) : 0;
}

static bool gen_op(struct gen *g, const struct form *f)
{
	struct ops o;
	random_ops(g, f, &o);
	if ((f->flags & F_QEMU_ZEXT) && o.rs1 != 0 && o.rs1 != SP) /* sp < 2^32 */
		emit_r(g->p, "add.uw", o.rs1, o.rs1, 0);	   /* zext.w */
	emit(g->p, f, &o);
	/* fflags are sticky: move them to an x register and clear them now and
	 * then, so that each FP instruction's flags can be seen */
	if ((f->group == G_F || f->group == G_D) && rng_chance(g->r, 30)) {
		int rd = pick_reg(g->r, O_XD);
		emit_i(g->p, "csrrw", rd, 0, 1);
	}
	return true;
}

/* A register to set up (a base, a CSR operand): not x0 nor sp; x8-x15 if compressed. */
static int scratch_reg(struct gen *g, bool compressed)
{
	return pick_reg(g->r, compressed ? O_XC : O_XDN);
}

/* Pick a window offset for an access of `size` bytes, aligned or not. */
static int pick_target(struct gen *g, int size, bool must_align)
{
	int t = (int)rng_below(g->r, REC_MEM_SIZE - size + 1);
	if (must_align || rng_chance(g->r, 75))
		t &= ~(size - 1);
	return t;
}

/* Loads and stores: base is sp itself, or a register set from sp just before
 * (addi, or c.addi4spn for the compressed forms when the offsets allow). */
static bool gen_mem(struct gen *g, const struct form *f)
{
	struct ops o;
	random_ops(g, f, &o);
	const struct immdesc *d = &imms[f->imm];

	if (f->rs1 == O_SP) { /* c.lwsp and friends: offset from sp, scaled */
		for (int tries = 0; tries < 16; tries++) {
			int64_t off = pick_imm(g->r, f->imm);
			int64_t t = g->spoff + off;
			if (t >= 0 && t + f->size <= REC_MEM_SIZE) {
				o.imm = off;
				emit(g->p, f, &o);
				return true;
			}
		}
		return false;
	}

	int t = pick_target(g, f->size, false);
	if (f->rs1 == O_X && rng_chance(g->r, 25)) {
		o.rs1 = SP;
		o.imm = t - g->spoff;
		emit(g->p, f, &o);
		return true;
	}

	bool compressed = is_compressed(f);
	o.rs1 = (uint8_t)scratch_reg(g, compressed);
	if (compressed && rng_chance(g->r, 50)) {
		for (int tries = 0; tries < 16; tries++) {
			int64_t off = pick_imm(g->r, f->imm);
			int64_t u = t - off - g->spoff;
			if (imm_ok(I_C_4SPN, u)) {
				struct ops b = {.rd = o.rs1, .imm = u};
				emit(g->p, form_named("c.addi4spn"), &b);
				o.imm = off;
				emit(g->p, f, &o);
				return true;
			}
		}
	}
	/* addi base, sp, t - off - spoff must fit in 12 bits */
	int64_t lo = d->min, hi = d->max;
	if (lo < t - g->spoff - 2047)
		lo = t - g->spoff - 2047;
	if (hi > t - g->spoff + 2048)
		hi = t - g->spoff + 2048;
	int64_t off;
	do
		off = rng_chance(g->r, 30) ? 0 : rng_range(g->r, lo, hi);
	while (!imm_ok(f->imm, off) || off < lo || off > hi);
	emit_i(g->p, "addi", o.rs1, SP, t - off - g->spoff);
	o.imm = off;
	emit(g->p, f, &o);
	return true;
}

/* Base register for an AMO/LR/SC: set to the naturally aligned target. */
static int amo_base(struct gen *g, int size)
{
	int t = pick_target(g, size, true);
	if (t == g->spoff && rng_chance(g->r, 50))
		return SP;
	int rb = scratch_reg(g, false);
	emit_i(g->p, "addi", rb, SP, t - g->spoff);
	return rb;
}

static bool gen_amo(struct gen *g, const struct form *f)
{
	struct ops o;
	random_ops(g, f, &o);
	o.rs1 = (uint8_t)amo_base(g, f->size);
	emit(g->p, f, &o);
	return true;
}

/* Integer ALU forms allowed between LR and SC (RV64I only, spec §8.3). */
static const char *const lrsc_filler[] = {"add", "sub", "xor", "or", "and", "sll", "sltu", "addw"};

/* LR; 0-3 ALU ops; SC (must succeed); sometimes a second SC (must fail:
 * every SC drops the reservation).  Registers never hold the base across. */
static bool gen_lrsc(struct gen *g, const struct form *f)
{
	const struct form *sc = form_named(f->size == 8 ? "sc.d" : "sc.w");
	int rb = amo_base(g, f->size);
	struct ops o;
	random_ops(g, f, &o);
	o.rs1 = (uint8_t)rb;
	while (o.rd == rb)
		o.rd = (uint8_t)pick_reg(g->r, O_XD);
	emit(g->p, f, &o);
	for (int n = (int)rng_below(g->r, 4); n > 0; n--) {
		int rd;
		do
			rd = pick_reg(g->r, O_XD);
		while (rd == rb);
		const char *op = PICK(g->r, lrsc_filler);
		int rs1 = pick_reg(g->r, O_X);
		int rs2 = pick_reg(g->r, O_X);
		emit_r(g->p, op, rd, rs1, rs2);
	}
	bool twice = rng_chance(g->r, 30);
	random_ops(g, sc, &o);
	o.rs1 = (uint8_t)rb;
	while (twice && o.rd == rb)
		o.rd = (uint8_t)pick_reg(g->r, O_XD);
	emit(g->p, sc, &o);
	if (twice) {
		random_ops(g, sc, &o);
		o.rs1 = (uint8_t)rb;
		emit(g->p, sc, &o);
	}
	return true;
}

/* SC with no reservation: an item boundary never has one (LR is always
 * followed by its SC in the same item), so it must fail and not store. */
static bool gen_sc(struct gen *g, const struct form *f)
{
	struct ops o;
	random_ops(g, f, &o);
	o.rs1 = (uint8_t)amo_base(g, f->size);
	emit(g->p, f, &o);
	return true;
}

static void add_fixup(struct gen *g, size_t at, uint64_t origin, const struct form *f,
		      const struct ops *o)
{
	static const int skips[] = {0, 1, 1, 2, 2, 3};
	int target = g->item + 1 + PICK(g->r, skips);
	if (target > g->nitems)
		target = g->nitems;
	if (target > g->shadow_end)
		g->shadow_end = target;
	g->fix[g->nfix++] = (struct fixup){at, origin, f, *o, target};
}

static bool gen_branch(struct gen *g, const struct form *f)
{
	struct ops o;
	random_ops(g, f, &o);
	o.imm = 0;
	uint64_t pc = pc_of(g->p);
	add_fixup(g, emit(g->p, f, &o), pc, f, &o);
	return true;
}

/* jalr rd, off(rX) after auipc rX, 0; c.jr/c.jalr rX after auipc + addi. */
static bool gen_jalr(struct gen *g, const struct form *f)
{
	struct ops o;
	random_ops(g, f, &o);
	int rx = o.rs1;
	uint64_t origin = pc_of(g->p);
	emit_i(g->p, "auipc", rx, 0, 0);
	if (is_compressed(f)) {
		struct ops a = {.rd = rx, .rs1 = rx, .imm = 0};
		const struct form *addi = form_named("addi");
		add_fixup(g, emit(g->p, addi, &a), origin, addi, &a);
		emit(g->p, f, &o);
	} else {
		o.imm = 0;
		add_fixup(g, emit(g->p, f, &o), origin, f, &o);
	}
	return true;
}

/* The FP CSRs.  frm must stay in 0-4 at every item boundary whatever path
 * was taken, since dynamic-rm instructions trap otherwise: writes set a
 * valid value, csrrc only clears bits (which keeps 0-4 valid), csrrs only
 * sets bits outside frm.  One variant briefly writes an invalid frm
 * (reserved values are still readable back) and restores a valid one. */
static bool gen_csr(struct gen *g, const struct form *f)
{
	static const int csrs[] = {1, 2, 3}; /* fflags, frm, fcsr */
	struct ops o;
	random_ops(g, f, &o);
	int csr = PICK(g->r, csrs);
	int frm_shift = csr == 3 ? 5 : 0;
	bool has_frm = csr != 1;
	bool imm_form = f->rs1 == O_U5;
	int op = f->match >> 12 & 3; /* 1 rw, 2 rs, 3 rc */
	o.imm = csr;

	if (has_frm && rng_chance(g->r, 5)) {
		/* write 5-7, read it back, write a valid value */
		int tmp = scratch_reg(g, false);
		int rd = pick_reg(g->r, O_XD);
		emit_i(g->p, "csrrwi", rd, rng_range(g->r, 5, 7), 2);
		emit_i(g->p, "csrrs", tmp, 0, csr);
		rd = pick_reg(g->r, O_XD);
		emit_i(g->p, "csrrwi", rd, rng_range(g->r, 0, 4), 2);
		return true;
	}
	if (has_frm && op != 3) {
		/* the value written (rw) or or-ed in (rs) must keep frm valid */
		int64_t v = imm_form ? (int64_t)rng_below(g->r, 32) : rng_range(g->r, -2048, 2047);
		int64_t field = op == 1 ? rng_range(g->r, 0, 4) : 0;
		if (!(imm_form && frm_shift == 5)) /* a 5-bit immediate cannot reach fcsr.frm */
			v = (v & ~(7ll << frm_shift)) | field << frm_shift;
		if (imm_form) {
			o.rs1 = (uint8_t)v;
		} else if (v != 0 || rng_chance(g->r, 50)) {
			o.rs1 = (uint8_t)scratch_reg(g, false);
			emit_i(g->p, "addi", o.rs1, 0, v);
		} else {
			o.rs1 = 0;
		}
	}
	emit(g->p, f, &o);
	return true;
}

/* Move sp to a new offset in [-SPOFF_MAX, 0] (the window's loads and stores
 * follow it).  Not inside a branch shadow: sp must be known after it. */
static bool gen_spadj(struct gen *g, const struct form *f)
{
	if (g->item < g->shadow_end)
		return false;
	for (int tries = 0; tries < 48; tries++) {
		/* aim at a new offset, or take a (likely small) legal immediate */
		int64_t d =
		    tries < 32 ? rng_range(g->r, -SPOFF_MAX, 0) - g->spoff : pick_imm(g->r, f->imm);
		int64_t n = g->spoff + d;
		if (!imm_ok(f->imm, d))
			continue;
		if (n >= -SPOFF_MAX && n <= 0) {
			struct ops o = {.rd = SP, .rs1 = SP, .imm = d};
			emit(g->p, f, &o);
			g->spoff = (int)n;
			return true;
		}
	}
	return false;
}

typedef bool (*item_fn)(struct gen *g, const struct form *f);

static const item_fn item_gen[] = {
    [K_OP] = gen_op,	 [K_LOAD] = gen_mem, [K_STORE] = gen_mem,     [K_AMO] = gen_amo,
    [K_LR] = gen_lrsc,	 [K_SC] = gen_sc,    [K_BRANCH] = gen_branch, [K_JAL] = gen_branch,
    [K_JALR] = gen_jalr, [K_CSR] = gen_csr,  [K_SPADJ] = gen_spadj,
};

static const char *const group_name[G_COUNT] = {
    [G_I] = "i",     [G_M] = "m",     [G_A] = "a",	 [G_F] = "f",
    [G_D] = "d",     [G_C] = "c",     [G_ZBA] = "zba",	 [G_ZBB] = "zbb",
    [G_ZBS] = "zbs", [G_MEM] = "mem", [G_CTRL] = "ctrl", [G_CSR] = "csr",
};

/* Forms of each group and the weights in use, built once by index_groups. */
static const struct form *group_forms[G_COUNT][NFORMS];
static size_t group_count[G_COUNT];
static unsigned weight[G_COUNT], weight_total;

/* `exclude`: comma-separated group names whose items are never picked. */
static int index_groups(const char *exclude)
{
	for (size_t i = 0; i < NFORMS; i++) {
		int gr = forms[i].group;
		group_forms[gr][group_count[gr]++] = &forms[i];
	}
	for (int gr = 1; gr < G_COUNT; gr++)
		weight[gr] = group_weight[gr];
	for (const char *p = exclude; p && *p;) {
		size_t len = strcspn(p, ",");
		int gr = 1;
		while (gr < G_COUNT &&
		       (strlen(group_name[gr]) != len || strncmp(p, group_name[gr], len)))
			gr++;
		if (gr == G_COUNT) {
			fprintf(stderr, "gen: unknown group '%.*s' to exclude\n", (int)len, p);
			return -1;
		}
		weight[gr] = 0;
		p += len + (p[len] == ',');
	}
	for (int gr = 1; gr < G_COUNT; gr++)
		weight_total += weight[gr];
	if (!weight_total) {
		fprintf(stderr, "gen: every group excluded\n");
		return -1;
	}
	return 0;
}

static const struct form *pick_form(struct rng *r)
{
	unsigned w = (unsigned)rng_below(r, weight_total);
	int gr = 1;
	while (w >= weight[gr])
		w -= weight[gr++];
	return group_forms[gr][rng_below(r, group_count[gr])];
}

static void patch_fixups(struct gen *g, int label)
{
	uint64_t pc = pc_of(g->p);
	for (int i = 0; i < g->nfix; i++) {
		struct fixup *x = &g->fix[i];
		if (x->target != label)
			continue;
		x->o.imm = (int64_t)(pc - x->origin);
		if (!imm_ok(x->f->imm, x->o.imm)) {
			fprintf(stderr, "gen: %s offset %" PRId64 " out of range\n", x->f->name,
				x->o.imm);
			exit(2);
		}
		repatch(g->p, x->at, x->f, &x->o);
	}
}

static void init_record(struct rng *r, uint8_t *rec)
{
	for (int i = 0; i < REC_MEM_SIZE; i += 8) {
		uint64_t v = rng_chance(r, 50) ? pick_xval(r) : pick_fval(r);
		put_le(rec + REC_MEM + i, v, 8);
	}
	for (int i = 0; i < 32; i++) {
		uint64_t v = pick_xval(r);
		if (i > 1 && rng_chance(r, 8)) /* equal operands */
			v = get_le(rec + REC_X + 8 * rng_below(r, (uint64_t)i), 8);
		put_le(rec + REC_X + 8 * i, i == 0 ? 0 : v, 8);
	}
	for (int i = 0; i < 32; i++)
		put_le(rec + REC_F + 8 * i, pick_fval(r), 8);
	uint64_t frm = rng_below(r, 5);
	uint64_t fflags =
	    rng_chance(r, 25) ? rng_below(r, 32) : 0; /* mostly clear: see flags appear */
	put_le(rec + REC_FCSR, frm << 5 | fflags, 8);
}

static void gen_case(struct prog *p, uint64_t seed, uint64_t index)
{
	struct rng r;
	rng_seed(&r, seed, index);
	uint8_t *rec = p->records + (index - p->first) * REC_SIZE;
	uint64_t rec_vaddr = p->data_vaddr + DATA_RECORDS + (index - p->first) * REC_SIZE;
	init_record(&r, rec);

	char name[32];
	snprintf(name, sizeof(name), "case_%" PRIu64, index);
	add_sym(p, name, pc_of(p));
	emit_la(p, SP, rec_vaddr);
	emit_call(p, p->load_state);
	emit_mem(p, "ld", K_LOAD, RA, SP, REC_X + 8 * RA);

	struct gen g = {.p = p, .r = &r, .nitems = (int)rng_range(&r, 20, MAX_ITEMS)};
	for (g.item = 0; g.item < g.nitems; g.item++) {
		patch_fixups(&g, g.item);
		const struct form *f;
		do
			f = pick_form(&r);
		while (!item_gen[f->kind](&g, f));
	}
	patch_fixups(&g, g.nitems);

	if (g.spoff)
		emit_i(p, "addi", SP, SP, -g.spoff);
	emit_mem(p, "sd", K_STORE, RA, SP, REC_X + 8 * RA);
	emit_call(p, p->save_state);
	end_sym(p);
}

/* ---- --listing and --asm: the instructions as text ---- */

static const char *reg_name(enum opnd c, int r, char *buf)
{
	if (c == O_SP)
		r = SP; /* implied base or tied field */
	sprintf(buf, "%c%d", c == O_F || c == O_FC ? 'f' : 'x', r);
	return buf;
}

/* binutils 2.40 takes no rounding mode on the exact conversions. */
static bool exact_cvt(const struct form *f)
{
	return !strcmp(f->name, "fcvt.d.w") || !strcmp(f->name, "fcvt.d.wu") ||
	       !strcmp(f->name, "fcvt.d.s");
}

/* The fence's predecessor or successor set as letters. */
static const char *fence_set(int set, char *buf)
{
	int k = 0;
	for (int bit = 3; bit >= 0; bit--)
		if (set >> bit & 1)
			buf[k++] = "wroi"[bit];
	buf[k] = 0;
	return buf;
}

/* One instruction in GNU as syntax (registers as xN/fN, offsets as .+N),
 * so that assembling the text must give back gen's bytes. */
static void format_asm(const struct insn *in, char *out, size_t n)
{
	static const char *const rm_name[8] = {"rne", "rtz", "rdn", "rup", "rmm", "?", "?", "dyn"};
	static const char *const aqrl_suffix[4] = {"", ".rl", ".aq", ".aqrl"};
	const struct form *f = in->f;
	const struct ops *o = &in->o;
	const char *name = f->name, *aqrl = aqrl_suffix[o->aqrl & 3];
	char r[4][8];
	long long imm = (long long)o->imm;

	switch (f->kind) {
	case K_LOAD:
		snprintf(out, n, "%s %s, %lld(%s)", name, reg_name(f->rd, o->rd, r[0]), imm,
			 reg_name(f->rs1, o->rs1, r[1]));
		return;
	case K_STORE:
		snprintf(out, n, "%s %s, %lld(%s)", name, reg_name(f->rs2, o->rs2, r[0]), imm,
			 reg_name(f->rs1, o->rs1, r[1]));
		return;
	case K_AMO:
	case K_SC:
		snprintf(out, n, "%s%s x%d, x%d, (x%d)", name, aqrl, o->rd, o->rs2, o->rs1);
		return;
	case K_LR:
		snprintf(out, n, "%s%s x%d, (x%d)", name, aqrl, o->rd, o->rs1);
		return;
	case K_BRANCH:
		if (f->layout == L_B)
			snprintf(out, n, "%s x%d, x%d, .%+lld", name, o->rs1, o->rs2, imm);
		else
			snprintf(out, n, "%s x%d, .%+lld", name, o->rs1, imm);
		return;
	case K_JAL:
		if (f->layout == L_J)
			snprintf(out, n, "%s x%d, .%+lld", name, o->rd, imm);
		else
			snprintf(out, n, "%s .%+lld", name, imm);
		return;
	case K_JALR:
		if (f->layout == L_I)
			snprintf(out, n, "%s x%d, %lld(x%d)", name, o->rd, imm, o->rs1);
		else
			snprintf(out, n, "%s x%d", name, o->rs1);
		return;
	case K_CSR:
		if (f->rs1 == O_U5)
			snprintf(out, n, "%s x%d, %lld, %d", name, o->rd, imm, o->rs1);
		else
			snprintf(out, n, "%s x%d, %lld, x%d", name, o->rd, imm, o->rs1);
		return;
	}
	if (exact_cvt(f) && o->rm != 0) {
		snprintf(out, n, ".insn r 0x53, %d, 0x%x, %s, %s, x%u", o->rm, f->match >> 25,
			 reg_name(f->rd, o->rd, r[0]), reg_name(f->rs1, o->rs1, r[1]),
			 (f->match >> 20) & 31);
		return;
	}

	/* K_OP and K_SPADJ: registers in field order, then immediate and rm */
	const uint8_t cls[4] = {f->rd, f->rs1, f->rs2, f->rs3};
	const uint8_t val[4] = {o->rd, o->rs1, o->rs2, o->rs3};
	int len = snprintf(out, n, "%s", name);
	const char *sep = " ";
	for (int i = 0; i < 4; i++) {
		if (cls[i] == O_NONE)
			continue;
		len += snprintf(out + len, n - (size_t)len, "%s%s", sep,
				reg_name(cls[i], val[i], r[i]));
		sep = ", ";
	}
	if (f->imm == I_U20 || f->imm == I_C_LUI)
		len += snprintf(out + len, n - (size_t)len, "%s0x%llx", sep,
				(unsigned long long)imm & 0xfffff);
	else if (f->imm == I_FENCE)
		len += snprintf(out + len, n - (size_t)len, " %s, %s",
				fence_set((int)(imm >> 4), r[0]), fence_set((int)(imm & 15), r[1]));
	else if (f->imm != I_NONE)
		len += snprintf(out + len, n - (size_t)len, "%s%lld", sep, imm);
	if ((f->flags & F_RM) && !exact_cvt(f))
		snprintf(out + len, n - (size_t)len, ", %s", rm_name[o->rm]);
}

/* --listing ("address mnemonic") or --asm (GNU as source, address comments). */
static int write_text(const struct prog *p, const char *path, bool as_asm)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	bool rvc = false;
	if (as_asm)
		fprintf(f, "\t.option norelax\n\t.option norvc\n\t.text\n");
	for (size_t i = 0; i < p->ninsns; i++) {
		const struct insn *in = &p->insns[i];
		if (!as_asm) {
			fprintf(f, "%" PRIx64 " %s\n", in->pc, in->f->name);
			continue;
		}
		char text[96];
		format_asm(in, text, sizeof(text));
		if (is_compressed(in->f) != rvc) {
			rvc = !rvc;
			fprintf(f, "\t.option %s\n", rvc ? "rvc" : "norvc");
		}
		fprintf(f, "\t%s\t# 0x%" PRIx64 "\n", text, in->pc);
	}
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

/* ---- ELF output ---- */

enum { SH_NULL, SH_TEXT, SH_DATA, SH_SYMTAB, SH_STRTAB, SH_SHSTRTAB, SH_COUNT };

static void put_phdr(uint8_t *ph, uint32_t flags, uint64_t off, uint64_t vaddr, uint64_t size)
{
	put_le(ph + 0, 1, 4); /* PT_LOAD */
	put_le(ph + 4, flags, 4);
	put_le(ph + 8, off, 8);
	put_le(ph + 16, vaddr, 8);
	put_le(ph + 24, vaddr, 8);
	put_le(ph + 32, size, 8);
	put_le(ph + 40, size, 8);
	put_le(ph + 48, PAGE, 8);
}

static void put_shdr(uint8_t *sh, uint32_t name, uint32_t type, uint64_t flags, uint64_t addr,
		     uint64_t off, uint64_t size, uint32_t link, uint32_t info, uint64_t align,
		     uint64_t entsize)
{
	put_le(sh + 0, name, 4);
	put_le(sh + 4, type, 4);
	put_le(sh + 8, flags, 8);
	put_le(sh + 16, addr, 8);
	put_le(sh + 24, off, 8);
	put_le(sh + 32, size, 8);
	put_le(sh + 40, link, 4);
	put_le(sh + 44, info, 4);
	put_le(sh + 48, align, 8);
	put_le(sh + 56, entsize, 8);
}

static size_t data_size(const struct prog *p)
{
	return DATA_RECORDS + p->count * REC_SIZE;
}

static int write_elf(const struct prog *p, const char *path, uint64_t entry, uint64_t remaining)
{
	struct buf out = {0};
	size_t text_end = TEXT_OFFSET + p->text.len;
	size_t data_off = (text_end + PAGE - 1) & ~(size_t)(PAGE - 1); /* vaddr is further on */
	size_t dsize = data_size(p);

	/* string tables and symbols */
	struct buf strtab = {0}, symtab = {0};
	buf_put(&strtab, "", 1);
	uint8_t sym[24] = {0};
	buf_put(&symtab, sym, 24);
	/* A local mapping symbol naming the ISA, so that objdump decodes Zb* */
	static const char isa[] = "$xrv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0_zifencei2p0_"
				  "zba1p0_zbb1p0_zbs1p0";
	put_le(sym + 0, strtab.len, 4);
	put_le(sym + 6, SH_TEXT, 2);
	put_le(sym + 8, TEXT_VADDR + TEXT_OFFSET, 8);
	buf_put(&symtab, sym, 24);
	buf_put(&strtab, isa, sizeof(isa));
	for (size_t i = 0; i < p->nsyms; i++) {
		memset(sym, 0, sizeof(sym));
		put_le(sym + 0, strtab.len, 4);
		sym[4] = 0x12; /* STB_GLOBAL, STT_FUNC */
		put_le(sym + 6, SH_TEXT, 2);
		put_le(sym + 8, p->syms[i].addr, 8);
		put_le(sym + 16, p->syms[i].size, 8);
		buf_put(&symtab, sym, 24);
		buf_put(&strtab, p->syms[i].name, strlen(p->syms[i].name) + 1);
	}
	static const char shstr[] = "\0.text\0.data\0.symtab\0.strtab\0.shstrtab";
	const uint32_t shname[SH_COUNT] = {0, 1, 7, 13, 21, 29};

	size_t sym_off = data_off + dsize;
	size_t str_off = sym_off + symtab.len;
	size_t shstr_off = str_off + strtab.len;
	size_t sh_off = (shstr_off + sizeof(shstr) + 7) & ~(size_t)7;
	size_t total = sh_off + SH_COUNT * 64;

	buf_reserve(&out, total);
	memset(out.p, 0, total);
	out.len = total;
	uint8_t *e = out.p;
	memcpy(e,
	       "\x7f"
	       "ELF",
	       4);
	e[4] = 2;		/* ELFCLASS64 */
	e[5] = 1;		/* little endian */
	e[6] = 1;		/* EV_CURRENT */
	put_le(e + 16, 2, 2);	/* ET_EXEC */
	put_le(e + 18, 243, 2); /* EM_RISCV */
	put_le(e + 20, 1, 4);
	put_le(e + 24, entry, 8);
	put_le(e + 32, 64, 8);	   /* e_phoff */
	put_le(e + 40, sh_off, 8); /* e_shoff */
	put_le(e + 48, 0x5, 4);	   /* EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE */
	put_le(e + 52, 64, 2);
	put_le(e + 54, 56, 2);
	put_le(e + 56, 2, 2);
	put_le(e + 58, 64, 2);
	put_le(e + 60, SH_COUNT, 2);
	put_le(e + 62, SH_SHSTRTAB, 2);
	put_phdr(e + 64, 5 /* R+X */, 0, TEXT_VADDR, text_end);
	put_phdr(e + 64 + 56, 6 /* R+W */, data_off, p->data_vaddr, dsize);

	memcpy(e + TEXT_OFFSET, p->text.p, p->text.len);
	put_le(e + data_off, remaining, 8);
	memcpy(e + data_off + DATA_RECORDS, p->records, p->count * REC_SIZE);
	memcpy(e + sym_off, symtab.p, symtab.len);
	memcpy(e + str_off, strtab.p, strtab.len);
	memcpy(e + shstr_off, shstr, sizeof(shstr));

	uint8_t *sh = e + sh_off;
	put_shdr(sh + 64 * SH_TEXT, shname[SH_TEXT], 1, 6, TEXT_VADDR + TEXT_OFFSET, TEXT_OFFSET,
		 p->text.len, 0, 0, 4, 0);
	put_shdr(sh + 64 * SH_DATA, shname[SH_DATA], 1, 3, p->data_vaddr, data_off, dsize, 0, 0, 8,
		 0);
	put_shdr(sh + 64 * SH_SYMTAB, shname[SH_SYMTAB], 2, 0, 0, sym_off, symtab.len, SH_STRTAB, 2,
		 8, 24);
	put_shdr(sh + 64 * SH_STRTAB, shname[SH_STRTAB], 3, 0, 0, str_off, strtab.len, 0, 0, 1, 0);
	put_shdr(sh + 64 * SH_SHSTRTAB, shname[SH_SHSTRTAB], 3, 0, 0, shstr_off, sizeof(shstr), 0,
		 0, 1, 0);

	int rc = 0;
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(out.p, 1, out.len, f) != out.len || fclose(f) != 0 ||
	    chmod(path, 0755) != 0) {
		perror(path);
		rc = -1;
	}
	free(out.p);
	free(strtab.p);
	free(symtab.p);
	return rc;
}

/* ---- --show: a case's initial state, for humans ---- */

static const char *const xname[32] = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
    "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
    "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static void show_case(const struct prog *p, uint64_t index)
{
	const uint8_t *rec = p->records + (index - p->first) * REC_SIZE;
	uint64_t rec_vaddr = p->data_vaddr + DATA_RECORDS + (index - p->first) * REC_SIZE;
	printf("initial state of case %" PRIu64 " (record at 0x%" PRIx64 ", sp = record):\n", index,
	       rec_vaddr);
	for (int i = 0; i < 32; i++) {
		if (i == SP)
			printf("  x2/sp   = 0x%016" PRIx64 "\n", rec_vaddr);
		else
			printf("  x%d/%-4s%s= 0x%016" PRIx64 "\n", i, xname[i], i < 10 ? " " : "",
			       get_le(rec + REC_X + 8 * i, 8));
	}
	for (int i = 0; i < 32; i++)
		printf("  f%-2d     = 0x%016" PRIx64 "\n", i, get_le(rec + REC_F + 8 * i, 8));
	uint64_t fcsr = get_le(rec + REC_FCSR, 8);
	printf("  fcsr    = 0x%02" PRIx64 " (frm %" PRIu64 ", fflags 0x%02" PRIx64 ")\n", fcsr,
	       fcsr >> 5, fcsr & 31);
	for (int i = 0; i < REC_MEM_SIZE; i += 8)
		printf("  mem+0x%02x = 0x%016" PRIx64 "\n", i, get_le(rec + REC_MEM + i, 8));
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: gen -s SEED -f FIRST -n COUNT [--from IDX | --only IDX] [--listing FILE]\n"
		"           [--asm FILE] [--show IDX] [--exclude G,G] OUT.elf\n"
		"  Writes a riscv64 program with cases FIRST..FIRST+COUNT-1 of run SEED.\n"
		"  --from IDX  start at case IDX and run to the end\n"
		"  --only IDX  run case IDX alone (same code addresses as the full program)\n"
		"  --listing FILE  write \"address mnemonic\" for every instruction\n"
		"  --asm FILE  write every instruction in GNU as syntax (to check the encoder)\n"
		"  --show IDX  print case IDX's initial registers and memory\n"
		"  --exclude G,G  never pick items of these groups: i m a f d c zba zbb zbs\n"
		"                 mem ctrl csr (the choice is part of the cases' identity)\n"
		"  --record-size  print the size of a case's output record and exit\n");
	exit(2);
}

static uint64_t parse_u64(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	if (!*s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'F'},    {"only", required_argument, NULL, 'O'},
	    {"listing", required_argument, NULL, 'L'}, {"show", required_argument, NULL, 'S'},
	    {"record-size", no_argument, NULL, 'R'},   {"exclude", required_argument, NULL, 'x'},
	    {"asm", required_argument, NULL, 'A'},     {NULL, 0, NULL, 0},
	};
	uint64_t seed = 0, first = 0, count = DIFF_CASES_PER_PROG, start = UINT64_MAX,
		 show = UINT64_MAX;
	bool only = false, have_seed = false;
	const char *listing = NULL, *asm_out = NULL, *exclude = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "s:f:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			printf("%d\n", REC_SIZE);
			return 0;
		case 's':
			seed = parse_u64(optarg);
			have_seed = true;
			break;
		case 'f':
			first = parse_u64(optarg);
			break;
		case 'n':
			count = parse_u64(optarg);
			break;
		case 'F':
			start = parse_u64(optarg);
			break;
		case 'O':
			start = parse_u64(optarg);
			only = true;
			break;
		case 'L':
			listing = optarg;
			break;
		case 'S':
			show = parse_u64(optarg);
			break;
		case 'x':
			exclude = optarg;
			break;
		case 'A':
			asm_out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || !have_seed || count == 0 || count > 100000)
		usage();
	if (start == UINT64_MAX)
		start = first;
	if (start < first || start >= first + count ||
	    (show != UINT64_MAX && (show < first || show >= first + count))) {
		fprintf(stderr, "gen: case outside %" PRIu64 "..%" PRIu64 "\n", first,
			first + count - 1);
		return 2;
	}

	if (index_groups(exclude))
		return 2;
	struct prog p = {.first = first, .count = count};
	p.records = calloc(count, REC_SIZE);
	p.keep_insns = listing || asm_out;
	/* The data segment follows the text; its address is needed while
	 * emitting, so place it past a generous bound on the code size. */
	uint64_t text_bound = 4096 + count * (40 + MAX_ITEMS * 7 * 4);
	p.data_vaddr = (TEXT_VADDR + TEXT_OFFSET + text_bound + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	emit_harness(&p);
	uint64_t entry = 0;
	for (uint64_t i = first; i < first + count; i++) {
		if (i == start)
			entry = pc_of(&p);
		gen_case(&p, seed, i);
	}
	add_sym(&p, "end", pc_of(&p));
	{
		int64_t hi, lo;
		split_hi_lo((int64_t)(p.finish - pc_of(&p)), &hi, &lo);
		emit_i(&p, "auipc", 5, 0, hi);
		emit_i(&p, "jalr", 0, 5, lo);
	}
	end_sym(&p);
	if (TEXT_VADDR + TEXT_OFFSET + p.text.len > p.data_vaddr) {
		fprintf(stderr, "gen: code outgrew its bound\n");
		return 2;
	}

	/* cases left to run, counted down by save_state */
	int rc = write_elf(&p, argv[optind], entry, only ? 1 : first + count - start);
	if (show != UINT64_MAX)
		show_case(&p, show);
	if (!rc && listing)
		rc = write_text(&p, listing, false);
	if (!rc && asm_out)
		rc = write_text(&p, asm_out, true);
	free(p.insns);
	free(p.records);
	free(p.text.p);
	free(p.syms);
	return rc ? 1 : 0;
}
