/* CPU-bound benchmark: a small bytecode interpreter (a stack machine with
 * a switch dispatch), running a loop that sums a series and calls a
 * function: indirect branches, calls and returns, as scripting language
 * interpreters have them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, CALL, RET, HALT };

/* locals: 0 i, 1 n, 2 acc */
static const int32_t prog[] = {
	PUSH, 0, STORE, 0,          /* 0: i = 0 */
	PUSH, 0, STORE, 2,          /* 4: acc = 0 */
	LOAD, 0, LOAD, 1, LT, JZ, 36, /* 8: while (i < n) */
	LOAD, 2, LOAD, 0, CALL, 40, ADD, STORE, 2, /* 15: acc += f(i) */
	LOAD, 0, PUSH, 1, ADD, STORE, 0, /* 24: i++ */
	JMP, 8, 0, 0, 0,            /* 31 */
	HALT,                       /* 36 */
	0, 0, 0,
	/* 40: f(x) = (x * x + 7) % 1000003 */
	PUSH, 0, ADD, /* dup via locals is overkill: x on stack */
	LOAD, 3, MUL, PUSH, 7, ADD, PUSH, 1000003, MOD, RET,
};

int main(int argc, char **argv)
{
	int64_t stack[256], locals[4] = { 0, argc > 1 ? atoll(argv[1]) : 3000000, 0, 0 };
	int32_t rstack[64];
	int sp = 0, rsp = 0, pc = 0;

	for (;;) {
		int32_t op = prog[pc++];

		switch (op) {
		case PUSH: stack[sp++] = prog[pc++]; break;
		case LOAD: stack[sp++] = locals[prog[pc++]]; break;
		case STORE: locals[prog[pc++]] = stack[--sp]; break;
		case ADD: sp--; stack[sp - 1] += stack[sp]; break;
		case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
		case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
		case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
		case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
		case JZ: pc = stack[--sp] ? pc + 1 : prog[pc]; break;
		case JMP: pc = prog[pc]; break;
		case CALL:
			locals[3] = stack[sp - 1]; /* the argument, also left on the stack */
			rstack[rsp++] = pc + 1;
			pc = prog[pc];
			break;
		case RET: pc = rstack[--rsp]; break;
		case HALT:
			printf("vm %lld\n", (long long)locals[2]);
			return 0;
		default:
			return 1;
		}
	}
}
