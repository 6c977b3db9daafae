/*
 * Evaluates a fixed list of expressions "a op b" and prints the results.
 * Build: gcc -std=c89 -pedantic -Wall -Werror main.c calc.c -o calc
 */
#include <stdio.h>
#include <string.h>
#include "calc.h"

struct expr {
    const char *text;
};

static int parse_int(const char **s, int *out)
{
    int sign = 1, v = 0, digits = 0;
    while (**s == ' ')
        (*s)++;
    if (**s == '-') {
        sign = -1;
        (*s)++;
    }
    while (**s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        (*s)++;
        digits++;
    }
    if (digits == 0)
        return 0;
    *out = sign * v;
    return 1;
}

static int evaluate(const char *text, int *result)
{
    const char *p = text;
    int a, b;
    char op;
    if (!parse_int(&p, &a))
        return 0;
    while (*p == ' ')
        p++;
    op = *p++;
    if (!calc_is_op(op) || !parse_int(&p, &b))
        return 0;
    return calc_apply(op, a, b, result);
}

int main(void)
{
    static const struct expr exprs[] = {
        { "2 + 3" }, { "10 - 4" }, { "6 * 7" }, { "9 / 0" }, { "17 % 5" }, { "x + 1" }, { "-8 / 2" }
    };
    unsigned i;
    int result;
    for (i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        if (evaluate(exprs[i].text, &result))
            printf("%-8s = %d\n", exprs[i].text, result);
        else
            printf("%-8s : error\n", exprs[i].text);
    }
    printf("5! = %ld, mode %d\n", calc_factorial(5), calc_mode());
    return strlen("") == 0 ? 0 : 1;
}
