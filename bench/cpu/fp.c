/* CPU-bound benchmark: floating point.  An n-body step loop in double
 * precision, a single-precision dot product and sqrt/division, as numeric
 * code has them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 64

int main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 3000;
	double x[N], y[N], vx[N], vy[N], m[N], e = 0;
	float a[1024], b[1024], dot = 0;

	for (int i = 0; i < N; i++) {
		x[i] = cos(i * 0.7) * (1 + i);
		y[i] = sin(i * 0.7) * (1 + i);
		vx[i] = vy[i] = 0;
		m[i] = 1.0 + (i % 5);
	}
	for (int i = 0; i < 1024; i++) {
		a[i] = (float)i / 1024.0f;
		b[i] = 1.0f - a[i];
	}
	for (int s = 0; s < steps; s++) {
		for (int i = 0; i < N; i++) {
			double fx = 0, fy = 0;

			for (int j = 0; j < N; j++) {
				double dx = x[j] - x[i], dy = y[j] - y[i];
				double d2 = dx * dx + dy * dy + 0.01;
				double inv = m[j] / (d2 * sqrt(d2));

				fx += dx * inv;
				fy += dy * inv;
			}
			vx[i] += fx * 1e-4;
			vy[i] += fy * 1e-4;
		}
		for (int i = 0; i < N; i++) {
			x[i] += vx[i] * 1e-2;
			y[i] += vy[i] * 1e-2;
		}
		for (int i = 0; i < 1024; i++)
			dot += a[i] * b[i] * 1e-3f;
	}
	for (int i = 0; i < N; i++)
		e += 0.5 * m[i] * (vx[i] * vx[i] + vy[i] * vy[i]);
	printf("fp %.9e %.6e\n", e, (double)dot);
	return 0;
}
