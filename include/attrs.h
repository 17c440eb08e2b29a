/*
 * attrs.h: a run's options and facts as an ordered list of named values, which the
 * checkpoint and history writers store as root attributes. The run layer builds the
 * list (from the option table and what it measured); the writers need not know
 * either, so the I/O code does not depend on the trainer's configuration.
 */
#ifndef GAN_ATTRS_H
#define GAN_ATTRS_H

typedef enum { ATTR_INT, ATTR_DOUBLE, ATTR_STRING } attr_type;

typedef struct {
    char *name;   /* owned */
    attr_type type;
    long long i;
    double d;
    char *s;      /* owned; ATTR_STRING only */
} attr;

typedef struct {
    attr *items;  /* owned */
    int n, cap;
} attr_list;

/* Append a value; a later entry of the same name replaces the earlier one when written. */
void attrs_int(attr_list *a, const char *name, long long v);
void attrs_double(attr_list *a, const char *name, double v);
void attrs_string(attr_list *a, const char *name, const char *v);
void attrs_free(attr_list *a);

#endif
