/* calc.h: a tiny integer calculator (strict C89). */
#ifndef CALC_H
#define CALC_H

typedef int (*calc_op)(int, int);

int calc_apply(char op, int a, int b, int *result);
long calc_factorial(int n);
int (*calc_lookup(char op))(int, int);
int calc_mode(void);

/* Defined in the header: every file that includes it uses it. */
static int calc_is_op(char c)
{
    return c == '+' || c == '-' || c == '*' || c == '/' || c == '%';
}

#endif /* CALC_H */
