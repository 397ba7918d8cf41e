/* The C extension: each 16-bit instruction is expanded to the 32-bit
 * instruction it stands for (unpriv spec chapter 16, RV64 column), so the
 * rest of the decoder sees one instruction set.  Reserved encodings give 0,
 * which decodes as illegal. */
#include "cpu/decode.h"

static uint32_t bits(uint32_t v, int hi, int lo)
{
	return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

/* Sign-extend the low n bits of v. */
static int32_t sext(uint32_t v, int n)
{
	return (int32_t)(v << (32 - n)) >> (32 - n);
}

static uint32_t enc_r(uint32_t opc, int rd, int f3, int rs1, int rs2, int f7)
{
	return opc | rd << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | (uint32_t)f7 << 25;
}

static uint32_t enc_i(uint32_t opc, int rd, int f3, int rs1, int32_t imm)
{
	return opc | rd << 7 | f3 << 12 | rs1 << 15 | (uint32_t)imm << 20;
}

static uint32_t enc_s(uint32_t opc, int f3, int rs1, int rs2, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return opc | (u & 31) << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | (u >> 5) << 25;
}

static uint32_t enc_b(int f3, int rs1, int rs2, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return 0x63 | bits(u, 11, 11) << 7 | bits(u, 4, 1) << 8 | f3 << 12 | rs1 << 15 |
	       rs2 << 20 | bits(u, 10, 5) << 25 | bits(u, 12, 12) << 31;
}

static uint32_t enc_j(int rd, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return 0x6f | rd << 7 | bits(u, 19, 12) << 12 | bits(u, 11, 11) << 20 |
	       bits(u, 10, 1) << 21 | bits(u, 20, 20) << 31;
}

enum { OPC_LOAD = 0x03, OPC_LOAD_FP = 0x07, OPC_OP_IMM = 0x13, OPC_OP_IMM32 = 0x1b,
       OPC_STORE = 0x23, OPC_STORE_FP = 0x27, OPC_OP = 0x33, OPC_LUI = 0x37, OPC_OP32 = 0x3b,
       OPC_JALR = 0x67, OPC_SYSTEM = 0x73 };

static uint32_t quadrant0(uint32_t c)
{
	int rd = 8 + bits(c, 4, 2), rs1 = 8 + bits(c, 9, 7);
	uint32_t uimm_w = bits(c, 12, 10) << 3 | bits(c, 6, 6) << 2 | bits(c, 5, 5) << 6;
	uint32_t uimm_d = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;

	switch (bits(c, 15, 13)) {
	case 0: { /* c.addi4spn */
		uint32_t imm = bits(c, 12, 11) << 4 | bits(c, 10, 7) << 6 | bits(c, 6, 6) << 2 |
			       bits(c, 5, 5) << 3;
		return imm ? enc_i(OPC_OP_IMM, rd, 0, 2, imm) : 0;
	}
	case 1: return enc_i(OPC_LOAD_FP, rd, 3, rs1, uimm_d);  /* c.fld */
	case 2: return enc_i(OPC_LOAD, rd, 2, rs1, uimm_w);     /* c.lw */
	case 3: return enc_i(OPC_LOAD, rd, 3, rs1, uimm_d);     /* c.ld */
	case 5: return enc_s(OPC_STORE_FP, 3, rs1, rd, uimm_d); /* c.fsd */
	case 6: return enc_s(OPC_STORE, 2, rs1, rd, uimm_w);    /* c.sw */
	case 7: return enc_s(OPC_STORE, 3, rs1, rd, uimm_d);    /* c.sd */
	default: return 0;
	}
}

static uint32_t quadrant1(uint32_t c)
{
	int rd = bits(c, 11, 7);
	int rdp = 8 + bits(c, 9, 7), rs2p = 8 + bits(c, 4, 2);
	int32_t imm6 = sext(bits(c, 12, 12) << 5 | bits(c, 6, 2), 6);
	uint32_t shamt = bits(c, 12, 12) << 5 | bits(c, 6, 2);

	switch (bits(c, 15, 13)) {
	case 0: return enc_i(OPC_OP_IMM, rd, 0, rd, imm6);                   /* c.addi */
	case 1: return rd ? enc_i(OPC_OP_IMM32, rd, 0, rd, imm6) : 0;        /* c.addiw */
	case 2: return enc_i(OPC_OP_IMM, rd, 0, 0, imm6);                    /* c.li */
	case 3:
		if (rd == 2) { /* c.addi16sp */
			int32_t imm = sext(bits(c, 12, 12) << 9 | bits(c, 6, 6) << 4 |
					   bits(c, 5, 5) << 6 | bits(c, 4, 3) << 7 |
					   bits(c, 2, 2) << 5, 10);
			return imm ? enc_i(OPC_OP_IMM, 2, 0, 2, imm) : 0;
		}
		/* c.lui */
		return imm6 ? OPC_LUI | rd << 7 | ((uint32_t)imm6 << 12) : 0;
	case 4:
		switch (bits(c, 11, 10)) {
		case 0: return enc_i(OPC_OP_IMM, rdp, 5, rdp, shamt);         /* c.srli */
		case 1: return enc_i(OPC_OP_IMM, rdp, 5, rdp, shamt | 0x400); /* c.srai */
		case 2: return enc_i(OPC_OP_IMM, rdp, 7, rdp, imm6);          /* c.andi */
		default: {
			static const struct { uint8_t opc, f3, f7; } ops[8] = {
				{ OPC_OP, 0, 0x20 }, { OPC_OP, 4, 0 }, { OPC_OP, 6, 0 },
				{ OPC_OP, 7, 0 }, { OPC_OP32, 0, 0x20 }, { OPC_OP32, 0, 0 },
			};
			int k = bits(c, 12, 12) << 2 | bits(c, 6, 5);
			if (!ops[k].opc)
				return 0;
			return enc_r(ops[k].opc, rdp, ops[k].f3, rdp, rs2p, ops[k].f7);
		}
		}
	case 5: { /* c.j */
		int32_t imm = sext(bits(c, 12, 12) << 11 | bits(c, 11, 11) << 4 |
				   bits(c, 10, 9) << 8 | bits(c, 8, 8) << 10 | bits(c, 7, 7) << 6 |
				   bits(c, 6, 6) << 7 | bits(c, 5, 3) << 1 | bits(c, 2, 2) << 5, 12);
		return enc_j(0, imm);
	}
	default: { /* c.beqz, c.bnez */
		int32_t imm = sext(bits(c, 12, 12) << 8 | bits(c, 11, 10) << 3 |
				   bits(c, 6, 5) << 6 | bits(c, 4, 3) << 1 | bits(c, 2, 2) << 5, 9);
		return enc_b(bits(c, 13, 13), rdp, 0, imm);
	}
	}
}

static uint32_t quadrant2(uint32_t c)
{
	int rd = bits(c, 11, 7), rs2 = bits(c, 6, 2);
	uint32_t shamt = bits(c, 12, 12) << 5 | bits(c, 6, 2);
	uint32_t lwsp = bits(c, 12, 12) << 5 | bits(c, 6, 4) << 2 | bits(c, 3, 2) << 6;
	uint32_t ldsp = bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6;
	uint32_t swsp = bits(c, 12, 9) << 2 | bits(c, 8, 7) << 6;
	uint32_t sdsp = bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6;

	switch (bits(c, 15, 13)) {
	case 0: return enc_i(OPC_OP_IMM, rd, 1, rd, shamt);                 /* c.slli */
	case 1: return enc_i(OPC_LOAD_FP, rd, 3, 2, ldsp);                  /* c.fldsp */
	case 2: return rd ? enc_i(OPC_LOAD, rd, 2, 2, lwsp) : 0;            /* c.lwsp */
	case 3: return rd ? enc_i(OPC_LOAD, rd, 3, 2, ldsp) : 0;            /* c.ldsp */
	case 4:
		if (!bits(c, 12, 12)) {
			if (rs2)
				return enc_r(OPC_OP, rd, 0, 0, rs2, 0);     /* c.mv */
			return rd ? enc_i(OPC_JALR, 0, 0, rd, 0) : 0;       /* c.jr */
		}
		if (rs2)
			return enc_r(OPC_OP, rd, 0, rd, rs2, 0);            /* c.add */
		if (rd)
			return enc_i(OPC_JALR, 1, 0, rd, 0);                /* c.jalr */
		return OPC_SYSTEM | 1 << 20;                                /* c.ebreak */
	case 5: return enc_s(OPC_STORE_FP, 3, 2, rs2, sdsp);                /* c.fsdsp */
	case 6: return enc_s(OPC_STORE, 2, 2, rs2, swsp);                   /* c.swsp */
	default: return enc_s(OPC_STORE, 3, 2, rs2, sdsp);                  /* c.sdsp */
	}
}

uint32_t rvc_expand(uint16_t c)
{
	switch (c & 3) {
	case 0: return quadrant0(c);
	case 1: return quadrant1(c);
	case 2: return quadrant2(c);
	default: return 0; /* not a compressed instruction */
	}
}
