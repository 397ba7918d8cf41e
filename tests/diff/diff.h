/* Layout shared by the differential-test generator (gen.c) and the
 * comparator (cmp.c).
 *
 * Every generated case owns one record in the program's data segment.  The
 * record holds the case's initial state (written by the generator), the
 * case overwrites it with its final state, and the program write()s the
 * whole record to stdout when the case ends.  Both emulators' outputs are
 * then plain arrays of records, compared field by field. */
#ifndef DIFF_H
#define DIFF_H

#define REC_MEM	     0 /* scratch memory window the case loads/stores into */
#define REC_MEM_SIZE 128
#define REC_X	     128 /* x0..x31, 8 bytes each (x2 = sp holds the record's address) */
#define REC_F	     384 /* f0..f31, raw 64-bit patterns */
#define REC_FCSR     640 /* fcsr, zero-extended to 8 bytes */
#define REC_SIZE     648

#define DIFF_CASES_PER_PROG 2000 /* default; run.sh passes it to gen as -n */

#endif
