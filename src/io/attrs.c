/* attrs.c: the ordered list of a run's named values (see attrs.h). */
#include "attrs.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

static attr *push(attr_list *a, const char *name, attr_type type)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->items = realloc(a->items, sizeof *a->items * (size_t)a->cap);
        if (!a->items) FATAL("out of memory");
    }
    attr *e = &a->items[a->n++];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name) FATAL("out of memory");
    e->type = type;
    return e;
}

void attrs_int(attr_list *a, const char *name, long long v)
{
    push(a, name, ATTR_INT)->i = v;
}

void attrs_double(attr_list *a, const char *name, double v)
{
    push(a, name, ATTR_DOUBLE)->d = v;
}

void attrs_string(attr_list *a, const char *name, const char *v)
{
    attr *e = push(a, name, ATTR_STRING);
    e->s = strdup(v);
    if (!e->s) FATAL("out of memory");
}

void attrs_free(attr_list *a)
{
    for (int k = 0; k < a->n; k++) free(a->items[k].name), free(a->items[k].s);
    free(a->items);
    memset(a, 0, sizeof *a);
}
