/* crt0.S - start-up and trap entry of the tests/vmbad guests.
 * Every hart enters _start in M-mode with a0 = hartid, a1 = device tree
 * (condo --bios none, or QEMU -bios none).  Hart 0 clears .bss and calls
 * main(); the others wait for that and call hart_main(hartid).  Traps go
 * to trap_entry, which saves the integer registers on the hart's stack and
 * calls trap_handler(frame) (rt.c); it returns to the (possibly moved)
 * mepc.  Interrupts stay disabled (mstatus.MIE = 0, mie = 0). */
#define STACK_SIZE 16384
#define MAX_HARTS  8

	.section .text.init, "ax"
	.globl _start
_start:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	csrw	mie, zero
	csrr	t0, mhartid
	li	t1, MAX_HARTS
	bgeu	t0, t1, park
	la	sp, __stacks_end
	li	t1, STACK_SIZE
	mul	t2, t0, t1
	sub	sp, sp, t2
	la	t1, trap_entry
	csrw	mtvec, t1
	li	t1, (1 << 13)           /* mstatus.FS = initial: FP usable */
	csrs	mstatus, t1
	csrw	fcsr, zero
	bnez	t0, secondary
	la	t1, __bss_start
	la	t2, __bss_end
1:	bgeu	t1, t2, 2f
	sd	zero, 0(t1)
	addi	t1, t1, 8
	j	1b
2:	la	t1, rt_dtb
	sd	a1, 0(t1)
	fence	rw, rw
	li	t0, 1
	la	t1, boot_release
	sw	t0, 0(t1)
	call	main
	call	rt_exit
secondary:
	la	t1, boot_release
1:	lw	t2, 0(t1)
	beqz	t2, 1b
	fence	rw, rw
	csrr	a0, mhartid
	call	hart_main
park:
	wfi
	j	park

	/* 32 8-byte slots: x0 (unused), x1..x31; then the C handler */
	.balign 4
	.globl trap_entry
trap_entry:
	addi	sp, sp, -256
	sd	x1, 8(sp)
	sd	x3, 24(sp)
	sd	x4, 32(sp)
	sd	x5, 40(sp)
	sd	x6, 48(sp)
	sd	x7, 56(sp)
	sd	x8, 64(sp)
	sd	x9, 72(sp)
	sd	x10, 80(sp)
	sd	x11, 88(sp)
	sd	x12, 96(sp)
	sd	x13, 104(sp)
	sd	x14, 112(sp)
	sd	x15, 120(sp)
	sd	x16, 128(sp)
	sd	x17, 136(sp)
	sd	x18, 144(sp)
	sd	x19, 152(sp)
	sd	x20, 160(sp)
	sd	x21, 168(sp)
	sd	x22, 176(sp)
	sd	x23, 184(sp)
	sd	x24, 192(sp)
	sd	x25, 200(sp)
	sd	x26, 208(sp)
	sd	x27, 216(sp)
	sd	x28, 224(sp)
	sd	x29, 232(sp)
	sd	x30, 240(sp)
	sd	x31, 248(sp)
	mv	a0, sp
	call	trap_handler
	ld	x1, 8(sp)
	ld	x3, 24(sp)
	ld	x4, 32(sp)
	ld	x5, 40(sp)
	ld	x6, 48(sp)
	ld	x7, 56(sp)
	ld	x8, 64(sp)
	ld	x9, 72(sp)
	ld	x10, 80(sp)
	ld	x11, 88(sp)
	ld	x12, 96(sp)
	ld	x13, 104(sp)
	ld	x14, 112(sp)
	ld	x15, 120(sp)
	ld	x16, 128(sp)
	ld	x17, 136(sp)
	ld	x18, 144(sp)
	ld	x19, 152(sp)
	ld	x20, 160(sp)
	ld	x21, 168(sp)
	ld	x22, 176(sp)
	ld	x23, 184(sp)
	ld	x24, 192(sp)
	ld	x25, 200(sp)
	ld	x26, 208(sp)
	ld	x27, 216(sp)
	ld	x28, 224(sp)
	ld	x29, 232(sp)
	ld	x30, 240(sp)
	ld	x31, 248(sp)
	addi	sp, sp, 256
	mret

	.data
	.balign 4
	.globl boot_release
boot_release:
	.word	0
	.balign 8
	.globl rt_dtb
rt_dtb:
	.dword	0
