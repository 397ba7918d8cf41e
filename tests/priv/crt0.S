/* crt0.S — start-up, trap vectors, lower_call and probes of condo's
 * bare-metal privileged-architecture tests (see priv.h).
 * Every hart enters _start in M-mode with a0 = hartid, a1 = device tree. */
#include "priv.h"

	.option norelax         /* no gp: U code runs through an alias mapping */

	.section .text.init, "ax"
	.globl _start
_start:
	mv	s0, a1                  /* the device tree */
	csrr	t0, mhartid
	li	t1, MAX_HARTS
	bgeu	t0, t1, park
	la	sp, __stacks_end
	li	t1, STACK_SIZE
	mul	t2, t0, t1
	sub	sp, sp, t2
	la	t1, m_vectors
	csrw	mtvec, t1
	mv	a0, t0
	call	hart_ptr
	mv	tp, a0
	csrr	t0, mhartid
	bnez	t0, secondary
	la	t1, __bss_start
	la	t2, __bss_end
1:	bgeu	t1, t2, 2f
	sd	zero, 0(t1)
	addi	t1, t1, 8
	j	1b
2:	la	t1, boot_dtb
	sd	s0, 0(t1)
	mv	a0, t0
	call	hart_init
	fence	rw, rw
	li	t0, 1
	la	t1, boot_release
	sw	t0, 0(t1)
	call	main
	call	test_exit
secondary:
	la	t1, boot_release
1:	lw	t2, 0(t1)
	beqz	t2, 1b
	fence	rw, rw
	csrr	a0, mhartid
	call	hart_init
	csrr	a0, mhartid
	call	hart_main
park:
	csrw	mie, zero
1:	wfi
	j	1b

	.data
	.balign 4
boot_release:
	.word	0

/* ---- trap vectors: 16 slots of `j`, so vectored mode (priv 1.12
 * §3.1.7) lands on slot = cause and direct mode on slot 0; each slot
 * records its number in the frame ---- */
	.text
.macro VECTORS lvl
	.balign 256
	.globl \lvl\()_vectors
\lvl\()_vectors:
	.option push
	.option norvc
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	j	\lvl\()_slot_\i
	.endr
	.option pop
	.irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
\lvl\()_slot_\i:
	csrrw	sp, \lvl\()scratch, sp
	addi	sp, sp, -FRAME_SIZE
	sd	t0, 5*8(sp)
	li	t0, \i
	j	\lvl\()_common
	.endr
.endm

.macro SAVE_REGS
	sd	t0, FRAME_VEC(sp)
	sd	x1, 1*8(sp)
	sd	x3, 3*8(sp)
	sd	x4, 4*8(sp)
	.irp r, 6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	sd	x\r, \r*8(sp)
	.endr
.endm

.macro RESTORE_REGS
	ld	x1, 1*8(sp)
	ld	x3, 3*8(sp)
	ld	x4, 4*8(sp)
	.irp r, 5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	ld	x\r, \r*8(sp)
	.endr
	ld	sp, 2*8(sp)
.endm

.macro COMMON lvl
\lvl\()_common:
	SAVE_REGS
	csrr	t0, \lvl\()scratch      /* the interrupted sp */
	sd	t0, 2*8(sp)
	addi	t0, sp, FRAME_SIZE
	csrw	\lvl\()scratch, t0
	csrr	t0, \lvl\()cause
	sd	t0, FRAME_CAUSE(sp)
	csrr	t0, \lvl\()epc
	sd	t0, FRAME_EPC(sp)
	csrr	t0, \lvl\()tval
	sd	t0, FRAME_TVAL(sp)
	csrr	t0, \lvl\()status
	sd	t0, FRAME_STATUS(sp)
	mv	a0, sp
	call	\lvl\()_trap
	ld	t0, FRAME_EPC(sp)
	csrw	\lvl\()epc, t0
	ld	t0, FRAME_STATUS(sp)
	csrw	\lvl\()status, t0
	RESTORE_REGS
	\lvl\()ret
.endm

	VECTORS m
	COMMON m
	VECTORS s
	COMMON s

/* ---- long lower_call(mode, fn, arg, va_off) ---- */
	.globl lower_call
lower_call:
	addi	sp, sp, -112
	sd	ra, 0(sp)
	sd	s0, 8(sp)
	sd	s1, 16(sp)
	sd	s2, 24(sp)
	sd	s3, 32(sp)
	sd	s4, 40(sp)
	sd	s5, 48(sp)
	sd	s6, 56(sp)
	sd	s7, 64(sp)
	sd	s8, 72(sp)
	sd	s9, 80(sp)
	sd	s10, 88(sp)
	sd	s11, 96(sp)
	sd	sp, HART_MCTX_SP(tp)
	csrr	t0, mstatus
	andi	t0, t0, MSTATUS_MIE
	sd	t0, HART_MCTX_MIE(tp)
	csrci	mstatus, MSTATUS_MIE
	li	t0, MSTATUS_MPP
	csrc	mstatus, t0
	slli	t1, a0, 11
	csrs	mstatus, t1
	la	t0, lower_entry
	add	t0, t0, a3
	csrw	mepc, t0
	add	a0, a1, a3
	mv	a1, a2
	add	sp, sp, a3
	mret
lower_entry:
	mv	t0, a0
	mv	a0, a1
	jalr	t0
	li	a7, ESCAPE_MAGIC
	li	a6, ESCAPE_MAGIC2
	li	a5, 0
	ecall
1:	j	1b

/* void lower_resume(long value): back into lower_call's caller, in M-mode
 * (called by m_trap on the escape trap) */
	.globl lower_resume
lower_resume:
	ld	sp, HART_MCTX_SP(tp)
	ld	t0, HART_MCTX_MIE(tp)
	csrs	mstatus, t0
	ld	ra, 0(sp)
	ld	s0, 8(sp)
	ld	s1, 16(sp)
	ld	s2, 24(sp)
	ld	s3, 32(sp)
	ld	s4, 40(sp)
	ld	s5, 48(sp)
	ld	s6, 56(sp)
	ld	s7, 64(sp)
	ld	s8, 72(sp)
	ld	s9, 80(sp)
	ld	s10, 88(sp)
	ld	s11, 96(sp)
	addi	sp, sp, 112
	ret

/* void s_escalate(long value, long stage): the S handler got the escape
 * (its cause was delegated); raise it again with a cause not yet tried:
 * ecall, then an illegal instruction, then a breakpoint */
	.globl s_escalate
s_escalate:
	li	a7, ESCAPE_MAGIC
	li	a6, ESCAPE_MAGIC2
	bnez	a1, 1f
	li	a5, 1
	ecall
1:	li	t0, 1
	bne	a1, t0, 2f
	li	a5, 2
	.4byte	0xc0001073              /* csrrw zero, cycle, zero */
2:	li	t0, 2
	bne	a1, t0, 3f
	li	a5, 3
	ebreak
3:	j	3b

/* ---- probes ---- */
.macro PROBE name, insn:vararg
	.globl probe_\name
	.balign 4
probe_\name:
	\insn
	ret
.endm
/* for instructions without a result: a0 = 0 when they do not trap */
.macro PROBE0 name, insn:vararg
	.globl probe_\name
	.balign 4
probe_\name:
	\insn
	li	a0, 0
	ret
.endm
	PROBE lb,  lb a0, 0(a0)
	PROBE lbu, lbu a0, 0(a0)
	PROBE lh,  lh a0, 0(a0)
	PROBE lhu, lhu a0, 0(a0)
	PROBE lw,  lw a0, 0(a0)
	PROBE lwu, lwu a0, 0(a0)
	PROBE ld,  ld a0, 0(a0)
	PROBE c_lw, c.lw a0, 0(a0)
	PROBE c_ld, c.ld a0, 0(a0)
	PROBE0 sb,  sb a1, 0(a0)
	PROBE0 sh,  sh a1, 0(a0)
	PROBE0 sw,  sw a1, 0(a0)
	PROBE0 sd,  sd a1, 0(a0)
	PROBE0 c_sw, c.sw a1, 0(a0)
	PROBE0 c_sd, c.sd a1, 0(a0)
	.globl probe_flw
probe_flw:
	flw	ft0, 0(a0)
	fmv.x.w	a0, ft0
	ret
	.globl probe_fld
probe_fld:
	fld	ft0, 0(a0)
	fmv.x.d	a0, ft0
	ret
	.globl probe_fsw
probe_fsw:
	fmv.w.x	ft0, a1
	fsw	ft0, 0(a0)
	li	a0, 0
	ret
	.globl probe_fsd
probe_fsd:
	fmv.d.x	ft0, a1
	fsd	ft0, 0(a0)
	li	a0, 0
	ret
	PROBE amoadd_w, amoadd.w a0, a1, (a0)
	PROBE amoadd_d, amoadd.d a0, a1, (a0)
	PROBE amoswap_w, amoswap.w a0, a1, (a0)
	PROBE amoor_d, amoor.d a0, a1, (a0)
	PROBE lr_w, lr.w a0, (a0)
	PROBE lr_d, lr.d a0, (a0)
	PROBE sc_w, sc.w a0, a1, (a0)
	PROBE sc_d, sc.d a0, a1, (a0)
/* uint64_t probe_mprv_ld(addr): ld with MPRV set (M-mode only) */
	.globl probe_mprv_ld, probe_mprv_ld_insn
probe_mprv_ld:
	li	t0, MSTATUS_MPRV
	csrs	mstatus, t0
probe_mprv_ld_insn:
	ld	a0, 0(a0)
	csrc	mstatus, t0
	ret
	.globl probe_exec
probe_exec:
	jr	a0
	PROBE0 ecall, ecall
	.globl probe_ebreak
	.balign 4
probe_ebreak:
	.option push
	.option norvc
	ebreak
	.option pop
	li	a0, 0
	ret
	PROBE0 c_ebreak, c.ebreak
	.globl probe_illegal, probe_illegal_insn
	.balign 4
probe_illegal:
probe_illegal_insn:
	.4byte	0xc0001073              /* csrrw zero, cycle, zero: writes a read-only CSR */
	li	a0, 0
	ret
	PROBE0 mret, mret
	PROBE0 sret, sret
	PROBE0 wfi, wfi
	PROBE0 sfence, sfence.vma
	PROBE csrr_cycle, csrr a0, cycle
	PROBE csrr_time, csrr a0, time
	PROBE csrr_instret, csrr a0, instret
	PROBE csrr_hpmcounter3, csrr a0, hpmcounter3
	PROBE csrr_mstatus, csrr a0, mstatus
	PROBE csrr_mcountinhibit, csrr a0, mcountinhibit
	PROBE0 csrw_mcountinhibit, csrw mcountinhibit, a0
	PROBE csrr_satp, csrr a0, satp
	PROBE csrr_stimecmp, csrr a0, CSR_STIMECMP
	PROBE0 csrw_stimecmp, csrw CSR_STIMECMP, a0
	/* Sdtrig's trigger CSRs (debug spec 1.0 ch. 5), by number */
	PROBE csrr_tselect, csrr a0, 0x7a0
	PROBE csrr_tdata1, csrr a0, 0x7a1
	PROBE csrr_tdata2, csrr a0, 0x7a2
	PROBE csrr_tdata3, csrr a0, 0x7a3
	PROBE csrr_tinfo, csrr a0, 0x7a4
	PROBE0 csrw_tselect, csrw 0x7a0, a0
	PROBE0 csrw_tdata1, csrw 0x7a1, a0
	PROBE0 csrw_tdata2, csrw 0x7a2, a0
	PROBE0 csrw_tdata3, csrw 0x7a3, a0
	PROBE0 csrw_tinfo, csrw 0x7a4, a0
	.globl ret_insn
ret_insn:
	c.jr	ra
