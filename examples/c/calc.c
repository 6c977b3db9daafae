/* calc.c: operators looked up by symbol, applied with error handling. */
#include <stdlib.h>
#include "calc.h"

/* A function-like macro that defines a function: its body is not parsed, so never edited. */
#define DEFINE_OP(name, expr) static int name(int a, int b) { return (expr); }

DEFINE_OP(op_mod, a % b)

static int op_add(int a, int b) { return a + b; }
static int op_sub(int a, int b) { return a - b; }

/* K&R-style definition. */
static int op_mul(a, b)
    int a;
    int b;
{
    return a * b;
}

static int op_div(int a, int b)
{
    if (b == 0)
        return 0;
    return a / b;
}

/* Returns a pointer to a function: the name sits deep inside the declarator. */
int (*calc_lookup(char op))(int, int)
{
    switch (op) {
    case '+':
        return op_add;
    case '-':
        return op_sub;
    case '*':
        return op_mul;
    case '/':
        return op_div;
    case '%':
        return op_mod;
    }
    return NULL;
}

int calc_apply(char op, int a, int b, int *result)
{
    calc_op fn;
    if (!calc_is_op(op))
        goto fail;
    fn = calc_lookup(op);
    if ((op == '/' || op == '%') && b == 0)
        goto fail;
    *result = fn(a, b);
    return 1;
fail:
    *result = 0;
    return 0;
}

long calc_factorial(int n)
{
    if (n <= 1)
        return 1;
    return n * calc_factorial(n - 1);
}

int calc_mode(void)
{
#ifdef CALC_VERBOSE
    return 2;
#else
    return 1;
#endif
}
